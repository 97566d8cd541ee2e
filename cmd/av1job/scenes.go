package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job"
)

func newScenesCmd() *cobra.Command {
	o := av1job.NewOptions("", "")
	var asJSON, quiet bool
	var save string
	cmd := &cobra.Command{
		Use:   "scenes INPUT [--save FILE]",
		Short: "Print the frames where encode would start its chunks; --save keeps the detection for encode --scenes",
		Args:  exactArgs(1, "scenes takes one INPUT file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFlags(cmd.Flags(), &o); err != nil {
				return err
			}
			var rep *reporter
			var progress func(int)
			if !quiet && o.Scenes == "" {
				rep = newReporter(os.Stderr)
				progress = func(n int) { rep.handle(av1job.Event{Kind: av1job.EventAnalyzing, Decoded: n}) }
			}
			sc, err := av1job.DetectScenes(cmd.Context(), args[0], o, progress)
			if rep != nil {
				rep.close(err == nil)
			}
			if err != nil {
				return err
			}
			if save != "" {
				if err := sc.Save(save); err != nil {
					return err
				}
				if !quiet {
					fmt.Fprintf(os.Stderr, "av1job: saved %d scene cuts of %s in %s; use it with av1job encode --scenes %s\n", len(sc.Cuts), args[0], save, save)
				}
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(struct {
					Frames int   `json:"frames"`
					Cuts   []int `json:"cuts"`
					Chunks []int `json:"chunks"`
				}{sc.Frames, sc.Cuts, sc.Chunks})
			}
			for _, c := range sc.Chunks {
				fmt.Println(c)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, `print {"frames": N, "cuts": [scene starts], "chunks": [chunk starts]}`)
	f.StringVar(&save, "save", "", "save the detection (timestamps, scores, cuts) to FILE for encode --scenes")
	f.StringVar(&o.Scenes, "scenes", "", "read the scenes from FILE instead of detecting them")
	f.BoolVar(&quiet, "quiet", false, "print no progress")
	addSceneFlags(f, &o)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error of our own.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageErr{fmt.Errorf("%s (got %d)", msg, len(args))}
		}
		return nil
	}
}
