package grain

import (
	"errors"
	"fmt"
	"math"
)

// The ISO range PhotonNoise accepts: Av1an's --photon-noise 1 to 64, which
// it multiplies by 100.
const (
	MinISO = 100
	MaxISO = 6400
)

// MaxSize is the largest width and height PhotonNoise takes, AV1's.
const MaxSize = 65536

// DefaultSeed is the random seed of libaom's photon noise tables (and the
// seed aomenc uses after a wrap to 0).
const DefaultSeed = 7391

// seedStep is what aomenc adds to the seed for each frame.
const seedStep = 3381

// ErrParams is wrapped by every error PhotonNoise and ParseTransfer
// return: the parameters are bad input, and trying again does not help.
var ErrParams = errors.New("bad photon noise parameter")

// Params are what a photon noise table is derived from.
type Params struct {
	// Width and Height are the frame size in pixels the grain is scaled
	// to: the source's size, or a larger one for coarser-looking, stronger
	// grain.
	Width, Height int
	// ISO is the camera's ISO setting on a 36×24 mm sensor, MinISO to
	// MaxISO.
	ISO int
	// Transfer is the transfer characteristic of the video the grain is
	// applied to.
	Transfer Transfer
}

// Validate returns an error wrapping ErrParams if PhotonNoise would refuse
// p, nil otherwise.
func (p Params) Validate() error {
	if p.ISO < MinISO || p.ISO > MaxISO {
		return fmt.Errorf("%w: ISO %d is out of range %d to %d", ErrParams, p.ISO, MinISO, MaxISO)
	}
	if p.Width <= 0 || p.Height <= 0 || p.Width > MaxSize || p.Height > MaxSize {
		return fmt.Errorf("%w: size %dx%d is out of range 1x1 to %dx%d", ErrParams, p.Width, p.Height, MaxSize, MaxSize)
	}
	if _, ok := p.Transfer.curve(); !ok {
		return fmt.Errorf("%w: transfer %v is not one of sdr, bt470m, bt470bg, pq, hlg", ErrParams, p.Transfer)
	}
	return nil
}

// PhotonNoise returns a table with one entry, for all time, holding the
// grain a camera at p.ISO would give a frame of p.Width×p.Height coded
// with p.Transfer (the package comment explains the model). It is the
// table libaom's photon_noise_table writes for the same width, height, ISO
// and transfer, to the byte (for frames under 2³¹ pixels, beyond which the
// tool's int product overflows). It returns an error wrapping ErrParams if
// p is out of range.
func PhotonNoise(p Params) (Table, error) {
	if err := p.Validate(); err != nil {
		return Table{}, err
	}
	c, _ := p.Transfer.curve()
	g := Grain{
		Apply:        true,
		Seed:         DefaultSeed,
		Update:       true,
		ScalingY:     photonScaling(p, c),
		ScalingShift: 8,
		ARCoeffShift: 6,
		ARCoeffsCb:   []int{0},
		ARCoeffsCr:   []int{0},
		Overlap:      true,
	}
	return Table{Entries: []Entry{{Start: 0, End: math.MaxInt64, Grain: g}}}, nil
}

// photonScaling is the reference's generate_photon_noise: the luma scaling
// points, on float32 arithmetic in the reference's order of operations.
func photonScaling(p Params, c curve) []Point {
	// Daylight-like spectrum; 2010-2020 cameras, the colour filter array
	// included.
	photonsPerLxSPerUm2 := f32(11260)
	quantumEfficiency := f32(0.20)
	prnu := f32(0.005)       // photo-response non-uniformity
	readNoise := f32(1.5)    // electrons, input-referred
	sensorArea := f32(864e6) // 36000 µm × 24000 µm

	midToneExposure := 10 / float32(p.ISO) // lx·s
	pixelArea := sensorArea / float32(p.Width*p.Height)
	midToneElectrons := quantumEfficiency * photonsPerLxSPerUm2 * midToneExposure * pixelArea
	maxElectrons := midToneElectrons / c.midTone

	const n = 14
	points := make([]Point, n)
	for i := range points {
		x := float32(i) / (n - f32(1))
		linear := c.toLinear(x)
		electrons := maxElectrons * linear
		// Shot noise is the square root of the count: its square is the
		// count itself.
		noise := sqrtf(float32(readNoise*readNoise) + electrons + float32(prnu*prnu*electrons*electrons))
		linearNoise := noise / maxElectrons
		start := max(0, linear-float32(2*linearNoise))
		end := min(1, linear+float32(2*linearNoise))
		slope := (c.fromLinear(end) - c.fromLinear(start)) / (end - start)
		encoded := linearNoise * slope
		points[i] = Point{
			X: uint8(roundf(255 * x)),
			Y: uint8(min(255, roundf(float32(255*f32(7.88))*encoded))),
		}
	}
	return points
}

// roundf is C's roundf: halves away from zero.
func roundf(x float32) float32 { return float32(math.Round(float64(x))) }

// ChunkSeed returns a random seed for the table of a chunk that starts at
// frame start (at least 0) of the source: the seed aomenc reaches at that
// frame when every frame before it is coded once from DefaultSeed. Chunks
// given their own seeds do not repeat one grain pattern; the seeds are not
// those of a one-piece encode, which also steps the seed for hidden
// frames. A negative start is taken as 0.
func ChunkSeed(start int) uint16 {
	if start <= 0 {
		return DefaultSeed
	}
	return uint16(DefaultSeed + seedStep*(uint64(start)%seedPeriod))
}

// seedPeriod is the number of frames after which aomenc's seed comes back
// to DefaultSeed: it adds seedStep modulo 65536 and replaces a 0 by
// DefaultSeed.
var seedPeriod = func() uint64 {
	s := uint16(DefaultSeed)
	for k := uint64(1); ; k++ {
		if s += seedStep; s == 0 {
			return k
		}
	}
}()
