// Package grain makes AV1 film-grain tables: PhotonNoise derives the grain
// of a digital camera at a given ISO from the source's size and transfer
// characteristics, and Table.WriteTo writes it in the text format that
// aomenc's --film-grain-table reads.
//
// # The model
//
// PhotonNoise is libaom's examples/photon_noise_table.c (libaom 3.6.0, the
// version Debian 12's aomenc is built from). Av1an's --photon-noise used
// the same model (its av1an-core/src/grain.rs, with the gamma 2.8 curve for
// every SDR source); since it moved to the av1-grain crate, Av1an uses the
// BT.1886 curve (gamma 2.4, 203 cd/m² white, 0.1 black) for SDR and spreads
// the points over the limited range 16..235 with the end points held at 1,
// which this package does not do. The ISO value stands for the light a
// 36×24 mm sensor received: a mid-tone is exposed at 10/ISO lx·s, and a
// pixel's share of the sensor (864e6 µm² over width×height pixels) catches
// 11260 photons per µm² per lx·s at an effective quantum efficiency of
// 0.2. For 14 luma levels evenly spaced over 0..255, the level's linear
// light gives a count of electrons, and the noise is the quadrature sum of
// photon shot noise (the square root of that count), a read noise of 1.5
// electrons and a photo-response non-uniformity of 0.5 %. That noise,
// relative to white, is carried back through the transfer function by its
// slope over ±2 standard deviations, and scaled by 255×7.88 into the
// scaling point of that level (at most 255): AV1's luma grain template has
// a standard deviation of about 256/7.88, so a scaling value s adds noise
// of about s/7.88 code values. Chroma gets no grain, the autoregression
// lag is 0 (white grain), and the random seed is libaom's 7391.
//
// So the grain grows with the ISO and with the frame's pixel count: the
// amount of noise is fixed relative to the whole image, so a small frame
// gets weak grain at any ISO. A caller who wants the grain of a larger
// frame passes that size instead (what Av1an's --photon-noise-size does).
//
// The arithmetic is the reference's: float32 throughout, with explicit
// conversions so that no multiply-add is fused, and the float32 pow, exp
// and log computed in float64 and rounded. The scaling values equal the
// reference program's on all 600 tables of testdata/reference.tsv, and the
// written bytes its files in testdata.
//
// # Transfers
//
// The grain is applied to coded (non-linear) values, so the transfer
// decides its shape: SDR (BT.709, BT.601, BT.2020 SDR, sRGB and
// unspecified sources) uses the sRGB curve, the reference's default;
// BT470M and BT470BG are pure gamma 2.2 and 2.8; PQ (SMPTE ST 2084) takes
// its mid-tone at 26 cd/m² of 10000, HLG at 26 of 1000 in display light
// (system gamma 1.2).
//
// # Chunks
//
// aomenc takes the table's seed for the frame at time 0 and adds 3381 for
// each frame after it. A chunk encoded on its own starts at time 0, so
// every chunk with the same table repeats the same grain pattern;
// ChunkSeed gives each chunk a seed of its own.
//
// # What aomenc checks
//
// Nothing: aomenc 3.6.0 exits 0 when the table file is missing (and
// encodes without grain) and when it is malformed, and in that case
// writes frame headers that dav1d refuses to decode. So the table is
// written with WriteTo, which refuses what aomenc would misread, before
// aomenc starts, and stays until it exits.
package grain
