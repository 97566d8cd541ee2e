// Command pauseresume encodes a file with the av1job library and steers
// the job from code: it pauses the job once a tenth of the frames are
// done, waits, resumes it, and prints the job's events as they come.
//
//	go run ./examples/pauseresume INPUT OUTPUT.mkv
//
// Run it again after interrupting it and the job continues where it
// stopped.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/av1job/av1job"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pauseresume INPUT OUTPUT.mkv")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "pauseresume:", err)
		os.Exit(1)
	}
}

func run(input, output string) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	o := av1job.NewOptions(input, output)
	o.Speed = av1job.SpeedOf(10)
	var once sync.Once
	pauseAt := make(chan struct{})
	o.Events = func(e av1job.Event) {
		switch e.Kind {
		case av1job.EventPlanned:
			fmt.Printf("planned: %d chunks, %d frames (%d done before)\n", e.ChunksTotal, e.FramesTotal, e.Resumed)
		case av1job.EventChunkDone:
			fmt.Printf("chunk %d done: %d/%d frames\n", e.Chunk, e.Frames, e.FramesTotal)
		case av1job.EventPaused, av1job.EventResumed, av1job.EventStopping, av1job.EventDone:
			fmt.Printf("%s at %d/%d frames\n", e.Kind, e.Frames, e.FramesTotal)
		case av1job.EventWarning:
			fmt.Println("warning:", e.Msg)
		}
		if e.FramesTotal > 0 && e.Frames*10 >= e.FramesTotal {
			once.Do(func() { close(pauseAt) })
		}
	}
	job := av1job.New(o)

	// Steer the job from another goroutine while Run runs.
	go func() {
		select {
		case <-pauseAt:
		case <-ctx.Done():
			return
		}
		if err := job.Pause(); err != nil {
			fmt.Println("pause:", err)
			return
		}
		time.Sleep(2 * time.Second) // the encoders use no CPU now
		if err := job.Resume(); err != nil {
			fmt.Println("resume:", err)
		}
	}()
	// The first Ctrl+C stops the job without losing work.
	go func() {
		<-ctx.Done()
		job.Stop()
	}()

	err := job.Run(context.Background())
	switch {
	case errors.Is(err, av1job.ErrStopped):
		fmt.Println("stopped; run the same command again to continue")
		return nil
	case err != nil:
		return err
	}
	fmt.Println("wrote", output)
	return nil
}
