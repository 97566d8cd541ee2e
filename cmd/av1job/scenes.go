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
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scenes INPUT",
		Short: "Print the frames where encode would start its chunks",
		Args:  exactArgs(1, "scenes takes one INPUT file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			frames, cuts, err := av1job.SceneCuts(cmd.Context(), args[0], o, nil)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(struct {
					Frames int   `json:"frames"`
					Cuts   []int `json:"cuts"`
				}{frames, cuts})
			}
			for _, c := range cuts {
				fmt.Println(c)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, `print {"frames": N, "cuts": [...]}`)
	f.IntVar(&o.MinSceneLen, "min-scene-len", o.MinSceneLen, "shortest scene, in frames")
	f.Float64Var(&o.MaxSceneLen, "max-scene-len", o.MaxSceneLen, "longest scene, in seconds")
	f.Float64Var(&o.SceneThreshold, "scene-threshold", o.SceneThreshold, "scene-change score that starts a scene (ffmpeg scdet)")
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
