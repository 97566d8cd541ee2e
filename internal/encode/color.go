package encode

import "strings"

// ffmpeg's colour names mapped to rav1e's.
var primaries = map[string]string{
	"bt709": "BT709", "bt470m": "BT470M", "bt470bg": "BT470BG", "smpte170m": "BT601",
	"smpte240m": "SMPTE240", "film": "GenericFilm", "bt2020": "BT2020", "smpte428": "XYZ",
	"smpte431": "SMPTE431", "smpte432": "SMPTE432", "jedec-p22": "EBU3213", "ebu3213": "EBU3213",
}

var transfers = map[string]string{
	"bt709": "BT709", "gamma22": "BT470M", "gamma28": "BT470BG", "bt470m": "BT470M", "bt470bg": "BT470BG", "smpte170m": "BT601",
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

// colourKind selects one of the three colour description tables.
type colourKind int

const (
	kPrim colourKind = iota
	kTran
	kMat
)

// codes maps ffmpeg's colour names to the code points of ISO/IEC 23091-4
// (H.273) that librav1e takes.
var codes = [3]map[string]int{
	kPrim: {"bt709": 1, "bt470m": 4, "bt470bg": 5, "smpte170m": 6, "smpte240m": 7, "film": 8, "bt2020": 9,
		"smpte428": 10, "smpte431": 11, "smpte432": 12, "jedec-p22": 22, "ebu3213": 22},
	kTran: {"bt709": 1, "gamma22": 4, "gamma28": 5, "bt470m": 4, "bt470bg": 5, "smpte170m": 6, "smpte240m": 7, "linear": 8, "log100": 9,
		"log316": 10, "iec61966-2-4": 11, "bt1361e": 12, "iec61966-2-1": 13, "bt2020-10": 14, "bt2020-12": 15,
		"smpte2084": 16, "smpte428": 17, "arib-std-b67": 18},
	kMat: {"gbr": 0, "bt709": 1, "fcc": 4, "bt470bg": 5, "smpte170m": 6, "smpte240m": 7, "ycgco": 8,
		"bt2020nc": 9, "bt2020c": 10, "smpte2085": 11, "chroma-derived-nc": 12, "chroma-derived-c": 13, "ictcp": 14},
}

// rav1eCodes maps the rav1e program's colour names, lower-cased, to code
// points, through the ffmpeg names both tables share.
func rav1eCodes(k colourKind) map[string]int {
	names := [3]map[string]string{kPrim: primaries, kTran: transfers, kMat: matrices}[k]
	out := map[string]int{"unspecified": 2}
	for ff, r := range names {
		if v, ok := codes[k][ff]; ok {
			out[strings.ToLower(r)] = v
		}
	}
	return out
}
