package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/tools"
)

// version describes av1job's build and the programs it runs, for a bug
// report: one line each.
func version() string {
	var b strings.Builder
	fmt.Fprintf(&b, "av1job %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range encode.Names() {
		enc, _ := encode.Lookup(name)
		v, err := enc.Version(ctx)
		if err != nil {
			v = "not available: " + firstLine(err.Error())
		}
		fmt.Fprintf(&b, "encoder %s %s\n", name, v)
	}
	for _, prog := range []struct{ name, flag string }{{tools.FFmpeg, "-version"}, {tools.FFprobe, "-version"}, {tools.Dav1d, "--version"}} {
		v := "not found"
		if cmd, err := tools.Command(ctx, prog.name, prog.flag); err == nil {
			// dav1d prints its version on standard error.
			out, err := cmd.CombinedOutput()
			v = strings.TrimPrefix(firstLine(string(out)), prog.name+" version ")
			v, _, _ = strings.Cut(v, " Copyright")
			if err != nil {
				v = cmd.Path + ": " + firstLine(err.Error())
			}
		}
		fmt.Fprintf(&b, "%s %s\n", prog.name, v)
	}
	return b.String()
}

// buildVersion is the module version, or the VCS revision the binary was
// built from.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown build)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+changes"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return fmt.Sprintf("%s (revision %s%s)", v, rev, modified)
	}
	return v
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}
