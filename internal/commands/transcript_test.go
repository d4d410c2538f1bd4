package commands

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kdive/internal/testcorpus"
)

// transcriptStep is one command of a recorded crash session and its output.
type transcriptStep struct{ cmd, out string }

// crashTranscript reads testdata/NAME, a crash session recorded on the
// corpus whose rig-hash its first line names ("... (rig-hash H)"), and
// splits it at each "crash> " prompt. It skips the test on another corpus
// and fails it when fewer than min commands are found.
func crashTranscript(t *testing.T, name string, min int) []transcriptStep {
	t.Helper()
	return crashTranscriptIn(t, testcorpus.Dir(t), name, min)
}

// crashTranscriptIn is crashTranscript for the corpus in dir (the ext
// corpus: testcorpus.ExtDir); a NAME ending in .gz is gunzipped.
func crashTranscriptIn(t *testing.T, dir, name string, min int) []transcriptStep {
	t.Helper()
	_, rest := goldenFor(t, dir, name)
	var steps []transcriptStep
	for _, blk := range strings.Split(rest, "crash> ")[1:] {
		cmd, out, _ := strings.Cut(blk, "\n")
		steps = append(steps, transcriptStep{cmd, out})
	}
	if len(steps) < min {
		t.Fatalf("%d commands in the transcript %s", len(steps), name)
	}
	return steps
}

// readTestdata returns testdata/NAME, gunzipped when NAME ends in .gz.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("testdata/%s: %v", name, err)
		}
		if b, err = io.ReadAll(z); err != nil {
			t.Fatalf("testdata/%s: %v", name, err)
		}
	}
	return string(b)
}

// goldenFor returns testdata/NAME (see readTestdata), a golden output
// captured on the corpus whose rig-hash its first line names ("...
// (rig-hash H)"), split into that line and the rest. It skips the test
// when the corpus in dir (testcorpus.Dir, testcorpus.ExtDir) has another
// rig-hash: the golden's addresses and contents are that corpus's.
func goldenFor(t *testing.T, dir, name string) (head, rest string) {
	t.Helper()
	head, rest, _ = strings.Cut(readTestdata(t, name), "\n")
	hash, err := os.ReadFile(filepath.Join(dir, "rig-hash"))
	if err != nil || !strings.Contains(head, "(rig-hash "+strings.TrimSpace(string(hash))+")") {
		t.Skipf("corpus rig-hash %q is not the golden file's: %s", hash, head)
	}
	return head, rest
}
