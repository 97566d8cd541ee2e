// Package ssimulacra2 computes SSIMULACRA 2.1, Cloudinary's perceptual
// image quality metric (github.com/cloudinary/ssimulacra2), in pure Go, and
// scores Y4M video frame by frame with it.
//
// A score is 100 for identical images, about 90 for visually lossless, 70
// for high, 50 for medium and 30 for low quality; strong distortions score
// below 0.
//
// # The metric
//
// Both images, in linear-light RGB, are compared at six scales (1:1 to
// 1:32, halving by 2x2 box averages in linear RGB). At each scale they are
// converted to the XYB colour space of JPEG XL (opsin absorbance matrix,
// bias, cube root), rescaled so that X, Y and B-Y fall in about 0..1. Local
// means, variances and covariance come from a recursive Gaussian blur of
// sigma 1.5 (D. Charalampidis's truncated-cosine IIR filter). Three error
// maps are computed per channel: 1 - SSIM (without the luminance term's
// denominator), artifacts (edges in the distorted image where the
// reference is smooth) and detail lost (the reverse). Each map is pooled
// with its 1-norm and 4-norm; the 108 numbers are weighted with the
// published weights and mapped to the score by a cubic polynomial and a
// power law.
//
// The implementation follows the reference source, including its float32
// arithmetic in the blur (which decides the SSIM term of near-identical
// images), its fused multiply-adds, and its quirk of shifting the weights
// of the missing scales for images too small for all six. On the pairs of
// testdata/reference.tsv it agrees with the reference tool to within 0.1.
//
// # Inputs
//
// FromImage reads sRGB images as the reference tool reads PNG files: 8-bit
// samples divided by 255, 16-bit ones by 65535, linearised with the sRGB
// transfer function. Alpha is ignored.
//
// Y4M frames (4:2:0, 4:2:2, 4:4:4 and mono, 8 to 16 bits) are converted to
// RGB with the matrix and range the caller gives (BT.709 and limited range
// by default; the range also from FFmpeg's XCOLORRANGE tag), clipped to
// 0..1 and linearised with the sRGB transfer function, as if each frame
// were written to an RGB PNG. Chroma is upsampled bilinearly between the
// positions of the chroma samples, which follow the Y4M tag: C420jpeg (and
// plain C420, C420p10) centred between luma samples in both directions,
// C420mpeg2 co-sited with the left luma sample and centred vertically,
// C420paldv co-sited with the top-left luma sample, and 4:2:2 co-sited
// with the left luma sample; at the edges the nearest chroma sample is
// repeated.
//
// # Work
//
// Score splits each pass into bands of rows or columns over
// Scorer.Workers goroutines; results do not depend on their number.
// ScoreY4M reads and converts the next pair of frames while the current one
// is scored.
//
// The per-pixel kernels (the blur, the colour conversions, the pooling)
// carry //go:norace: they touch only the rows of their own band, and under
// the race detector they made a job's --target-quality cost three times
// the CPU (41.8 s against 13.0 s on the test suite's clip). The banding
// itself (forBands, its goroutines and barriers) stays instrumented, and
// TestScoreWorkers checks that any number of workers gives the same bits.
package ssimulacra2
