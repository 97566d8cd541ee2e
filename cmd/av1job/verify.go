package main

import "github.com/spf13/cobra"

func newVerifyCmd() *cobra.Command {
	return &cobra.Command{Use: "verify SOURCE OUTPUT", Short: "Check that OUTPUT matches SOURCE frame by frame", Hidden: true}
}
