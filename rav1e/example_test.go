//go:build cgo && !nolibrav1e

package rav1e_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/av1job/av1job/rav1e"
)

// gradient returns frame i of a moving gradient in the Y4M layout.
func gradient(cfg rav1e.Config, i int) []byte {
	b := make([]byte, cfg.FrameSize())
	for j := range b {
		b[j] = byte(i*3 + j%cfg.Width + j/cfg.Width)
	}
	return b
}

// The push-pull loop of the C API: receive until the encoder needs data,
// then send a frame, and flush after the last one.
func ExampleEncoder() {
	cfg := rav1e.DefaultConfig(64, 64)
	cfg.Speed = 10
	cfg.KeyFrameInterval = 12
	cfg.NoSceneDetection = true
	enc, err := rav1e.NewEncoder(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()

	const frames = 16
	next := 0
	var types []string
	for {
		pkt, err := enc.ReceivePacket()
		switch {
		case err == nil:
			if pkt.Type == rav1e.KeyFrame && rav1e.SequenceHeaderOBU(pkt.Data) == nil {
				log.Fatal("keyframe without a sequence header")
			}
			types = append(types, pkt.Type.String())
			continue
		case err == rav1e.ErrEncoded:
			continue
		case err == rav1e.ErrNeedMoreData && next < frames:
			f, err := enc.NewFrame()
			if err != nil {
				log.Fatal(err)
			}
			if err := f.FillY4M(gradient(cfg, next)); err != nil {
				log.Fatal(err)
			}
			if err := enc.SendFrame(f); err != nil {
				log.Fatal(err)
			}
			f.Close()
			next++
			continue
		case err == rav1e.ErrNeedMoreData:
			if err := enc.Flush(); err != nil {
				log.Fatal(err)
			}
			continue
		case err == rav1e.ErrLimitReached:
		default:
			log.Fatal(err)
		}
		break
	}
	fmt.Println(len(types), "packets")
	fmt.Println(strings.Join(types[:13], " "))
	// Output:
	// 16 packets
	// KEY INTER INTER INTER INTER INTER INTER INTER INTER INTER INTER INTER KEY
}

// A session paused and resumed from another goroutine: after Pause
// returns, the encoder does no work until Resume.
func ExampleSession() {
	cfg := rav1e.DefaultConfig(64, 64)
	cfg.Speed = 10
	keyframes := 0
	s, err := rav1e.NewSession(context.Background(), cfg, func(p *rav1e.Packet) error {
		if p.Type == rav1e.KeyFrame {
			keyframes++
		}
		return nil // write p.Data somewhere
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	done := make(chan error, 1)
	go func() {
		for i := 0; i < 30; i++ {
			if err := s.WriteFrame(gradient(cfg, i)); err != nil {
				done <- err
				return
			}
		}
		done <- s.Stop() // flush and deliver the rest
	}()

	s.Pause() // from here on, no CPU use
	fmt.Println("paused:", s.Paused())
	s.Resume()

	if err := <-done; err != nil {
		log.Fatal(err)
	}
	in, out := s.Frames()
	fmt.Printf("%d frames in, %d packets out, %d keyframe\n", in, out, keyframes)
	// Output:
	// paused: true
	// 30 frames in, 30 packets out, 1 keyframe
}
