package journal

import (
	"bytes"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

func FuzzOpen(f *testing.F) {
	valid := line(`{"a":1}`) + line("") + line(`{"chunk":2}`)
	for _, seed := range []string{
		"",
		"\n",
		valid,
		valid[:len(valid)-1],
		valid + "garbage",
		valid + "\x00\x00\x00\x00",
		"00000000 x\n" + valid,
		line("a") + "zz\n" + line("b"),
		"cff7d56a {\"a\":1}",
		"CFF7D56A {\"a\":1}\n",
		"cff7d56a{\"a\":1}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "journal.log")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		roRecs, roDropped, err := ReadAll(path)
		if err != nil {
			t.Fatal(err)
		}

		l, recs, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(roRecs) {
			t.Fatalf("Open found %d records, ReadAll %d", len(recs), len(roRecs))
		}
		// Every record re-verifies against the original bytes, and records
		// plus dropped lines tile the original file exactly.
		var validEnd int64
		var off int64
		ri, di := 0, 0
		for off < int64(len(data)) {
			switch {
			case ri < len(recs) && recs[ri].Offset == off:
				r := recs[ri]
				if bytes.IndexByte(r.Payload, '\n') >= 0 {
					t.Fatalf("payload contains newline")
				}
				end := off + int64(headerLen+len(r.Payload)+1)
				if end > int64(len(data)) || data[end-1] != '\n' {
					t.Fatalf("record at %d does not end in a newline", off)
				}
				ln := data[off:end]
				want, ok := parseCRC(ln[:crcLen])
				if !ok || ln[crcLen] != ' ' || !bytes.Equal(ln[headerLen:end-off-1], r.Payload) ||
					crc32.Checksum(r.Payload, crc32.MakeTable(crc32.Castagnoli)) != want {
					t.Fatalf("record at %d does not verify", off)
				}
				if !bytes.Equal(r.Payload, roRecs[ri].Payload) || r.Offset != roRecs[ri].Offset {
					t.Fatalf("Open and ReadAll disagree at record %d", ri)
				}
				off, validEnd = end, end
				ri++
			case di < len(roDropped) && roDropped[di].Offset == off && roDropped[di].Len > 0:
				off += int64(roDropped[di].Len)
				di++
			default:
				t.Fatalf("offset %d is neither a record nor a dropped line", off)
			}
		}
		if ri != len(recs) || di != len(roDropped) || off != int64(len(data)) {
			t.Fatalf("records and dropped lines do not tile the file")
		}
		if got := len(l.Dropped()); got != len(roDropped) {
			t.Fatalf("Open dropped %d lines, ReadAll %d", got, len(roDropped))
		}

		// The tail is repaired: an append lands on a clean line.
		if err := l.Append([]byte("appended")); err != nil {
			t.Fatal(err)
		}
		l.Close()
		recs2, dropped2, err := ReadAll(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs2) != len(recs)+1 || string(recs2[len(recs)].Payload) != "appended" ||
			recs2[len(recs)].Offset != validEnd {
			t.Fatalf("append after Open: %d records, want %d", len(recs2), len(recs)+1)
		}
		for _, d := range dropped2 {
			if d.Offset >= validEnd {
				t.Fatalf("dropped line after the repaired tail: %+v", d)
			}
		}
	})
}
