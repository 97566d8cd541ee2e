package ssimulacra2

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Regenerating the reference scores needs the reference tool (built from
// github.com/cloudinary/ssimulacra2):
//
//	SSIMULACRA2_REF=/path/to/ssimulacra2 go test -run TestReference -update ./ssimulacra2/
var update = flag.Bool("update", false, "rewrite testdata/reference.tsv with scores from the reference tool named by $SSIMULACRA2_REF")

const referenceTSV = "testdata/reference.tsv"

// tolerance is the largest accepted difference from the reference score.
const tolerance = 0.5

// A refRow is one line of testdata/reference.tsv.
type refRow struct {
	name, kind, recipe, md5 string
	score                   float64
}

func readReference(t *testing.T) map[string]refRow {
	t.Helper()
	f, err := os.Open(referenceTSV)
	if err != nil {
		t.Fatalf("%v (regenerate with SSIMULACRA2_REF=... go test -run TestReference -update)", err)
	}
	defer f.Close()
	rows := map[string]refRow{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("%s: bad line %q", referenceTSV, line)
		}
		v, err := strconv.ParseFloat(cols[4], 64)
		if err != nil {
			t.Fatalf("%s: bad score in %q", referenceTSV, line)
		}
		rows[cols[0]] = refRow{name: cols[0], kind: cols[1], recipe: cols[2], md5: cols[3], score: v}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func writeReference(t *testing.T, rows []refRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Scores of the reference SSIMULACRA 2.1 tool (github.com/cloudinary/ssimulacra2) on the pairs\n")
	b.WriteString("# of pairs_test.go, generated with ffmpeg and rav1e. md5 is of the reference and distorted files\n")
	b.WriteString("# this package scores (for y4m pairs the reference tool scores their RGB conversions). Regenerate with:\n")
	b.WriteString("#   SSIMULACRA2_REF=/path/to/ssimulacra2 go test -run TestReference -update ./ssimulacra2/\n")
	b.WriteString("# name\tkind\trecipe\tmd5\tscore\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%.8f\n", r.name, r.kind, r.recipe, r.md5, r.score)
	}
	if err := os.WriteFile(referenceTSV, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runReference scores a PNG pair with the reference tool.
func runReference(ctx context.Context, tool, ref, dist string) (float64, error) {
	out, err := exec.CommandContext(ctx, tool, ref, dist).Output()
	if err != nil {
		return 0, fmt.Errorf("%s %s %s: %w", tool, ref, dist, err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

// goScore scores a generated pair with this package: PNGs decoded with
// image/png, or Y4Ms read directly.
func goScore(t *testing.T, p pairSpec, f pairFiles) float64 {
	t.Helper()
	if p.kind == "png" {
		s, err := Score(loadPNG(t, f.ref), loadPNG(t, f.dist))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return y4mScore(t, f.ref, f.dist, p.color)
}

func y4mScore(t *testing.T, ref, dist string, c Color) float64 {
	t.Helper()
	r, err := os.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := os.Open(dist)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	scores, err := ScoreY4M(context.Background(), r, d, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 1 {
		t.Fatalf("%d scores, want 1", len(scores))
	}
	return scores[0]
}

// TestReference checks that this package's score is within tolerance of
// the reference tool's on every generated pair, and that the generated
// inputs are byte for byte those the reference scored.
func TestReference(t *testing.T) {
	needTools(t)
	files := generateAll(t)

	var want map[string]refRow
	if *update {
		tool := os.Getenv("SSIMULACRA2_REF")
		if tool == "" {
			t.Fatal("-update needs SSIMULACRA2_REF, the path of the reference ssimulacra2 binary")
		}
		want = map[string]refRow{}
		var rows []refRow
		for i, p := range pairSpecs {
			s, err := runReference(context.Background(), tool, files[i].refPNG, files[i].distPNG)
			if err != nil {
				t.Fatal(err)
			}
			r := refRow{name: p.name, kind: p.kind, recipe: p.recipe(), md5: files[i].md5, score: s}
			rows = append(rows, r)
			want[p.name] = r
		}
		writeReference(t, rows)
	} else {
		want = readReference(t)
	}

	// Pairs are scored in parallel subtests; the table is printed after.
	got := make([]float64, len(pairSpecs))
	t.Run("pairs", func(t *testing.T) {
		for i, p := range pairSpecs {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				r, ok := want[p.name]
				if !ok {
					t.Fatalf("not in %s; regenerate with -update", referenceTSV)
				}
				if r.md5 != files[i].md5 {
					t.Fatalf("generated files differ from those the reference scored (md5 %s, want %s): ffmpeg or rav1e changed; regenerate with -update",
						files[i].md5, r.md5)
				}
				got[i] = goScore(t, p, files[i])
				if d := got[i] - r.score; math.Abs(d) > tolerance {
					t.Errorf("score %.6f, reference %.6f (diff %+.6f, tolerance %v)", got[i], r.score, d, tolerance)
				}
			})
		}
	})

	var table strings.Builder
	fmt.Fprintf(&table, "%-32s %12s %12s %9s\n", "pair", "reference", "go", "diff")
	var maxDiff float64
	for i, p := range pairSpecs {
		r := want[p.name]
		d := got[i] - r.score
		maxDiff = max(maxDiff, math.Abs(d))
		fmt.Fprintf(&table, "%-32s %12.6f %12.6f %+9.6f\n", p.name, r.score, got[i], d)
	}
	t.Logf("%d pairs, max |diff| %.6f\n%s", len(pairSpecs), maxDiff, table.String())
}
