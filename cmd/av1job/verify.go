package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/verify"
)

func newVerifyCmd() *cobra.Command {
	var opt verify.Options
	cmd := &cobra.Command{
		Use:   "verify SOURCE OUTPUT",
		Short: "Check OUTPUT against SOURCE frame by frame",
		Long: `Decode SOURCE and OUTPUT side by side and check: equal frame counts, every
output frame closest to its own source frame (no shift, drop or duplicate), a
per-frame PSNR floor, the number of audio, subtitle and attachment streams,
and the durations. Prints one line; exits 1 if any check fails.`,
		Args: exactArgs(2, "verify takes SOURCE and OUTPUT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.EqualFold(filepath.Ext(args[1]), ".ivf") {
				opt.VideoOnly = true // IVF holds only the video
			}
			rep, err := verify.Run(cmd.Context(), args[0], args[1], opt)
			if err != nil {
				var ie *probe.InputError
				if errors.As(err, &ie) {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			fmt.Println(rep.Summary())
			if !rep.OK() {
				return &exitError{code: exitFailed, err: fmt.Errorf("%s does not match %s", args[1], args[0])}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Float64Var(&opt.MinPSNR, "min-psnr", verify.DefaultMinPSNR, "lowest acceptable luma PSNR of any frame, in dB")
	f.BoolVar(&opt.VideoOnly, "video-only", false, "compare the video only, not the other streams")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}
