package encode

import (
	"fmt"
	"strings"
)

// An option is one of an encoder program's command-line options.
type option struct {
	long  string // "--tiles"; "" when there is only a short form
	short byte   // 'l' for -l; 0 when there is none
	value bool   // takes a value
}

func (o option) name() string {
	if o.long != "" {
		return o.long
	}
	return "-" + string(o.short)
}

// rav1eOptions is the option table of the rav1e 0.5.1 program (rav1e
// --fullhelp), whose argument parser (clap 2) accepts "--name value",
// "--name=value", "-n value", "-nvalue", "-n=value" and runs of short flags
// such as "-qy"; it takes no abbreviations.
var rav1eOptions = []option{
	{"--fullhelp", 0, false}, {"--low-latency", 0, false}, {"--no-scene-detection", 0, false},
	{"--still-picture", 0, false}, {"--benchmark", 0, false}, {"--verbose", 'v', false},
	{"--quiet", 'q', false}, {"--psnr", 0, false}, {"--metrics", 0, false}, {"", 'y', false},
	{"--help", 'h', false}, {"--version", 'V', false},
	{"--threads", 0, true}, {"--output", 'o', true}, {"--first-pass", 0, true}, {"--second-pass", 0, true},
	{"--limit", 'l', true}, {"--skip", 0, true}, {"--quantizer", 0, true}, {"--min-quantizer", 0, true},
	{"--bitrate", 'b', true}, {"--speed", 's', true}, {"--scd_speed", 0, true}, {"--min-keyint", 'i', true},
	{"--keyint", 'I', true}, {"--switch-frame-interval", 'S', true}, {"--reservoir-frame-delay", 0, true},
	{"--rdo-lookahead-frames", 0, true}, {"--tune", 0, true}, {"--tile-rows", 0, true}, {"--tile-cols", 0, true},
	{"--tiles", 0, true}, {"--range", 0, true}, {"--primaries", 0, true}, {"--transfer", 0, true},
	{"--matrix", 0, true}, {"--mastering-display", 0, true}, {"--content-light", 0, true},
	{"--frame-rate", 0, true}, {"--time-scale", 0, true}, {"--reconstruction", 'r', true},
}

// refused lists the options that would break the pipeline, by their
// names in rav1eOptions, with the reason given to the user.
var refused = map[string]string{
	"--output": "av1job writes the output", "-y": "av1job writes the output",
	"--skip": "av1job feeds each chunk's frames", "--limit": "av1job feeds each chunk's frames",
	"--keyint": "each chunk has one keyframe at its start", "--min-keyint": "each chunk has one keyframe at its start",
	"--switch-frame-interval": "each chunk has one keyframe at its start",
	"--first-pass":            "two-pass encoding is not supported yet", "--second-pass": "two-pass encoding is not supported yet",
	"--still-picture": "av1job encodes video", "--reconstruction": "av1job writes only the stream",
	"--speed": "use av1job's --speed", "--quantizer": "use av1job's --quantizer", "--bitrate": "use av1job's --bitrate",
	"--frame-rate": "av1job sets the frame rate from the source", "--time-scale": "av1job sets the frame rate from the source",
	"--help": "not an encoding option", "--fullhelp": "not an encoding option", "--version": "not an encoding option",
	"--benchmark": "not an encoding option",
}

// Arg is one parsed pass-through argument.
type Arg struct {
	Name  string // the option's long name ("--tiles"), or "-y" for short-only options
	Value string // its value, for options that take one
	Raw   string // the argument as written (the first word, for "--name value")
}

// ArgError is a pass-through argument the encoder would not take, or that
// av1job does not allow.
type ArgError struct {
	Arg string // as written
	Msg string
}

func (e *ArgError) Error() string { return fmt.Sprintf("encoder argument %s: %s", e.Arg, e.Msg) }

// parseArgs parses args the way the rav1e program's parser does and
// checks them against its option table: an unknown option, a missing
// value or a bare word (which rav1e would read as its input) is an
// *ArgError, and so is an option in refused.
func parseArgs(args []string) ([]Arg, error) {
	var out []Arg
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return nil, &ArgError{a, "not allowed (av1job gives the encoder its input)"}
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a, "=")
			o, ok := findLong(name)
			if !ok {
				return nil, &ArgError{a, "rav1e 0.5.1 has no such option"}
			}
			if !o.value {
				if hasVal {
					return nil, &ArgError{a, "takes no value"}
				}
				out = append(out, Arg{Name: o.name(), Raw: a})
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, &ArgError{a, "needs a value"}
				}
				i++
				val = args[i]
			}
			out = append(out, Arg{Name: o.name(), Value: val, Raw: a})
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// A run of short options; the first that takes a value takes
			// the rest of the word (after an optional "="), or the next
			// word.
			for k := 1; k < len(a); k++ {
				o, ok := findShort(a[k])
				if !ok {
					return nil, &ArgError{a, fmt.Sprintf("rav1e 0.5.1 has no option -%c", a[k])}
				}
				if !o.value {
					out = append(out, Arg{Name: o.name(), Raw: a})
					continue
				}
				val := strings.TrimPrefix(a[k+1:], "=")
				if k+1 >= len(a) {
					if i+1 >= len(args) {
						return nil, &ArgError{a, "needs a value"}
					}
					i++
					val = args[i]
				}
				out = append(out, Arg{Name: o.name(), Value: val, Raw: a})
				break
			}
		default:
			return nil, &ArgError{fmt.Sprintf("%q", a), "not allowed (a word that is not an option's value would be rav1e's input; av1job gives the encoder its input)"}
		}
	}
	for _, x := range out {
		if why, ok := refused[x.Name]; ok {
			return nil, &ArgError{x.Raw, "not allowed (" + why + ")"}
		}
	}
	return out, nil
}

func findLong(name string) (option, bool) {
	for _, o := range rav1eOptions {
		if o.long == name {
			return o, true
		}
	}
	return option{}, false
}

func findShort(c byte) (option, bool) {
	for _, o := range rav1eOptions {
		if o.short == c {
			return o, true
		}
	}
	return option{}, false
}

// CheckExtra checks pass-through arguments against the rav1e program's
// option table and refuses those that would break the pipeline.
func CheckExtra(args []string) error {
	_, err := parseArgs(args)
	return err
}
