package encode

import (
	"fmt"
	"strings"
)

// An option is one of an encoder program's command-line options.
type option struct {
	long  string // "--tiles"; "" when there is only a short form
	short string // "l" for -l; "" when there is none
	value bool   // takes a value
}

func (o option) name() string {
	if o.long != "" {
		return o.long
	}
	return "-" + o.short
}

// An optionTable is an encoder program's options and the way its
// argument parser reads them, with the options av1job refuses.
type optionTable struct {
	program string // "rav1e 0.5.1", as the errors name it
	options []option
	// refused lists the options that would break the pipeline, by their
	// names (option.name), with the reason given to the user.
	refused map[string]string
	// equals: a long option's value may follow "="; spaced: it may be
	// the next word. clap: short options run together ("-qy"), and a
	// short option's value may be attached ("-l5", "-l=5").
	equals, spaced, clap bool
}

// rav1eOptions is the option table of the rav1e 0.5.1 program (rav1e
// --fullhelp), whose argument parser (clap 2) accepts "--name value",
// "--name=value", "-n value", "-nvalue", "-n=value" and runs of short flags
// such as "-qy"; it takes no abbreviations.
var rav1eOptions = optionTable{program: "rav1e 0.5.1", equals: true, spaced: true, clap: true, options: []option{
	{"--fullhelp", "", false}, {"--low-latency", "", false}, {"--no-scene-detection", "", false},
	{"--still-picture", "", false}, {"--benchmark", "", false}, {"--verbose", "v", false},
	{"--quiet", "q", false}, {"--psnr", "", false}, {"--metrics", "", false}, {"", "y", false},
	{"--help", "h", false}, {"--version", "V", false},
	{"--threads", "", true}, {"--output", "o", true}, {"--first-pass", "", true}, {"--second-pass", "", true},
	{"--limit", "l", true}, {"--skip", "", true}, {"--quantizer", "", true}, {"--min-quantizer", "", true},
	{"--bitrate", "b", true}, {"--speed", "s", true}, {"--scd_speed", "", true}, {"--min-keyint", "i", true},
	{"--keyint", "I", true}, {"--switch-frame-interval", "S", true}, {"--reservoir-frame-delay", "", true},
	{"--rdo-lookahead-frames", "", true}, {"--tune", "", true}, {"--tile-rows", "", true}, {"--tile-cols", "", true},
	{"--tiles", "", true}, {"--range", "", true}, {"--primaries", "", true}, {"--transfer", "", true},
	{"--matrix", "", true}, {"--mastering-display", "", true}, {"--content-light", "", true},
	{"--frame-rate", "", true}, {"--time-scale", "", true}, {"--reconstruction", "r", true},
}, refused: map[string]string{
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
}}

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

// parse parses args the way the program's parser does and checks them
// against its option table: an unknown option, a missing value or a bare
// word (which the program would read as its input) is an *ArgError, and
// so is an option the table refuses.
func (t optionTable) parse(args []string) ([]Arg, error) {
	var out []Arg
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return nil, &ArgError{a, "not allowed (av1job gives the encoder its input)"}
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a, "=")
			o, ok := t.findLong(name)
			if !ok {
				return nil, &ArgError{a, t.program + " has no such option"}
			}
			if why, ok := t.refused[o.name()]; ok {
				return nil, &ArgError{a, "not allowed (" + why + ")"}
			}
			if !o.value {
				if hasVal {
					return nil, &ArgError{a, "takes no value"}
				}
				out = append(out, Arg{Name: o.name(), Raw: a})
				continue
			}
			switch {
			case hasVal && !t.equals:
				return nil, &ArgError{a, fmt.Sprintf("%s takes %s VALUE, not %s=VALUE", t.program, name, name)}
			case !hasVal && !t.spaced:
				return nil, &ArgError{a, fmt.Sprintf("needs a value (%s takes %s=VALUE)", t.program, name)}
			case !hasVal:
				if i+1 >= len(args) {
					return nil, &ArgError{a, "needs a value"}
				}
				i++
				val = args[i]
			}
			out = append(out, Arg{Name: o.name(), Value: val, Raw: a})
		case strings.HasPrefix(a, "-") && len(a) > 1 && !t.clap:
			// One short option, its value the next word.
			o, ok := t.findShort(a[1:])
			if !ok {
				return nil, &ArgError{a, fmt.Sprintf("%s has no option %s", t.program, a)}
			}
			if o.value {
				if i+1 >= len(args) {
					return nil, &ArgError{a, "needs a value"}
				}
				i++
				out = append(out, Arg{Name: o.name(), Value: args[i], Raw: a})
				continue
			}
			out = append(out, Arg{Name: o.name(), Raw: a})
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// A run of short options; the first that takes a value takes
			// the rest of the word (after an optional "="), or the next
			// word.
			for k := 1; k < len(a); k++ {
				o, ok := t.findShort(a[k : k+1])
				if !ok {
					return nil, &ArgError{a, fmt.Sprintf("%s has no option -%c", t.program, a[k])}
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
			return nil, &ArgError{fmt.Sprintf("%q", a), "not allowed (a word that is not an option's value would be the encoder's input; av1job gives the encoder its input)"}
		}
	}
	for _, x := range out {
		if why, ok := t.refused[x.Name]; ok {
			return nil, &ArgError{x.Raw, "not allowed (" + why + ")"}
		}
	}
	return out, nil
}

func (t optionTable) findLong(name string) (option, bool) {
	for _, o := range t.options {
		if o.long == name {
			return o, true
		}
	}
	return option{}, false
}

func (t optionTable) findShort(s string) (option, bool) {
	for _, o := range t.options {
		if o.short != "" && o.short == s {
			return o, true
		}
	}
	return option{}, false
}

// given returns the names of the options args give (args checked).
func (t optionTable) given(args []string) map[string]bool {
	user := map[string]bool{}
	parsed, _ := t.parse(args)
	for _, a := range parsed {
		user[a.Name] = true
	}
	return user
}

// parseArgs parses pass-through arguments as the rav1e program does.
func parseArgs(args []string) ([]Arg, error) { return rav1eOptions.parse(args) }

// CheckExtra checks pass-through arguments against the rav1e program's
// option table and refuses those that would break the pipeline.
func CheckExtra(args []string) error {
	_, err := parseArgs(args)
	return err
}
