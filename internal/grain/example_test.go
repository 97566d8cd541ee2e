package grain_test

import (
	"fmt"
	"os"

	"github.com/av1job/av1job/internal/grain"
)

func ExamplePhotonNoise() {
	// The source's colour_transfer as ffprobe names it.
	tr, err := grain.ParseTransfer("bt709")
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := grain.PhotonNoise(grain.Params{Width: 1920, Height: 1080, ISO: 800, Transfer: tr})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := t.WriteTo(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// filmgrn1
	// E 0 9223372036854775807 1 7391 1
	// 	p 0 6 0 8 0 1 0 0 0 0 0 0
	// 	sY 14  0 1 20 5 39 5 59 5 78 5 98 5 118 5 137 5 157 5 177 5 196 5 216 5 235 5 255 6
	// 	sCb 0
	// 	sCr 0
	// 	cY
	// 	cCb 0
	// 	cCr 0
}

func ExamplePhotonNoise_badISO() {
	_, err := grain.PhotonNoise(grain.Params{Width: 1920, Height: 1080, ISO: 12800})
	fmt.Println(err)
	// Output: bad photon noise parameter: ISO 12800 is out of range 100 to 6400
}
