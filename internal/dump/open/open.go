// Package open detects a dump's format by content (placeholder by the lead: the
// elfcore engineer replaces this file with the full detection).
package open

import (
	"kdive/internal/dump"
	"kdive/internal/dump/diskdump"
	"kdive/internal/dump/elfcore"
)

func Open(path string, o dump.Options) (dump.Dump, error) {
	d, err := elfcore.Open(path, o)
	if err == nil {
		return d, nil
	}
	return diskdump.Open(path, o)
}
