package encode

// ffmpeg's colour names mapped to rav1e's.
var primaries = map[string]string{
	"bt709": "BT709", "bt470m": "BT470M", "bt470bg": "BT470BG", "smpte170m": "BT601",
	"smpte240m": "SMPTE240", "film": "GenericFilm", "bt2020": "BT2020", "smpte428": "XYZ",
	"smpte431": "SMPTE431", "smpte432": "SMPTE432", "jedec-p22": "EBU3213", "ebu3213": "EBU3213",
}

var transfers = map[string]string{
	"bt709": "BT709", "gamma22": "BT470M", "gamma28": "BT470BG", "smpte170m": "BT601",
	"smpte240m": "SMPTE240", "linear": "Linear", "log100": "Log100", "log316": "Log100Sqrt10",
	"iec61966-2-4": "IEC61966", "bt1361e": "BT1361", "iec61966-2-1": "SRGB",
	"bt2020-10": "BT2020_10Bit", "bt2020-12": "BT2020_12Bit", "smpte2084": "SMPTE2084",
	"smpte428": "SMPTE428", "arib-std-b67": "HLG",
}

var matrices = map[string]string{
	"gbr": "Identity", "bt709": "BT709", "fcc": "FCC", "bt470bg": "BT470BG", "smpte170m": "BT601",
	"smpte240m": "SMPTE240", "ycgco": "YCgCo", "bt2020nc": "BT2020NCL", "bt2020c": "BT2020CL",
	"smpte2085": "SMPTE2085", "chroma-derived-nc": "ChromatNCL", "chroma-derived-c": "ChromatCL",
	"ictcp": "ICtCp",
}
