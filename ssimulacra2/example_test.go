package ssimulacra2_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"

	"github.com/av1job/av1job/ssimulacra2"
)

func ExampleScore() {
	ref := image.NewRGBA(image.Rect(0, 0, 64, 64))
	dist := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			c := color.RGBA{uint8(4 * x), uint8(4 * y), 128, 255}
			ref.Set(x, y, c)
			if x == 32 {
				c.R += 40 // a faint vertical line
			}
			dist.Set(x, y, c)
		}
	}
	same, _ := ssimulacra2.Score(ssimulacra2.FromImage(ref), ssimulacra2.FromImage(ref))
	score, err := ssimulacra2.Score(ssimulacra2.FromImage(ref), ssimulacra2.FromImage(dist))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("identical: %.0f, with a line: below 90: %v\n", same, score < 90)
	// Output: identical: 100, with a line: below 90: true
}

func ExampleScoreY4M() {
	// Two one-frame 4:2:0 streams, 16x16, the second a little brighter.
	stream := func(luma byte) []byte {
		var b bytes.Buffer
		b.WriteString("YUV4MPEG2 W16 H16 F25:1 C420jpeg\nFRAME\n")
		for i := 0; i < 256; i++ {
			b.WriteByte(luma + byte(i%16))
		}
		b.Write(bytes.Repeat([]byte{128}, 2*64))
		return b.Bytes()
	}
	scores, err := ssimulacra2.ScoreY4M(context.Background(),
		bytes.NewReader(stream(100)), bytes.NewReader(stream(101)),
		ssimulacra2.Color{Matrix: ssimulacra2.BT709, Range: ssimulacra2.RangeLimited})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d frame, visually lossless: %v\n", len(scores), scores[0] > 90)
	// Output: 1 frame, visually lossless: true
}
