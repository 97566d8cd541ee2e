package journal

import (
	"fmt"
	"io"
	"os"
	"testing"
)

// The test binary doubles as a helper process for the cross-process lock
// tests: with JOURNAL_HELPER=hold it acquires the lock on JOURNAL_HELPER_DIR,
// prints "locked\n" and holds the lock until its stdin is closed.
func TestMain(m *testing.M) {
	switch os.Getenv("JOURNAL_HELPER") {
	case "":
		os.Exit(m.Run())
	case "hold":
		os.Exit(helperHold(os.Getenv("JOURNAL_HELPER_DIR")))
	default:
		fmt.Fprintln(os.Stderr, "unknown JOURNAL_HELPER")
		os.Exit(2)
	}
}

func helperHold(dir string) int {
	l, err := Acquire(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Print("locked\n")
	io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
