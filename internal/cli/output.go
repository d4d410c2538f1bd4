package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// outBufSize is the size of the buffer a command's output goes through;
// it is flushed after each command (and before each warning).
const outBufSize = 64 << 10

// liveFlushEvery is how often output to a terminal is flushed while a
// command runs, so that a slow command shows its lines as it goes.
const liveFlushEvery = 100 * time.Millisecond

// abortCommand is the panic value outWriter uses to stop a command whose
// output nobody reads any more (a closed pipe) or that was interrupted.
// runCommand recovers it; a command never sees it unless it recovers
// panics itself, and even then the flags below tell what happened.
type abortCommand struct{}

// outWriter is the io.Writer a command writes its output to: a buffer in
// front of the terminal, a file or a pipe. A write to a closed pipe
// (EPIPE) or after Ctrl-C stops the command by panicking with
// abortCommand, which is how crash's SIGPIPE and SIGINT handlers longjmp
// back to the prompt. Commands must therefore write from the goroutine
// that runs them.
type outWriter struct {
	bw          *bufio.Writer
	s           *Session
	direct      bool // the session's own output (not a pipe or file)
	broken      bool // a write failed with EPIPE
	interrupted bool // Ctrl-C was seen
	// plain makes Write return errors rather than panic: the output of an
	// input file ("< file > out"), which nested commands write through
	// their own outWriter.
	plain bool
	// live flushes the buffer every liveFlushEvery (output to a terminal).
	live      bool
	lastFlush time.Time
}

func newOutWriter(s *Session, w io.Writer, direct bool) *outWriter {
	ow := &outWriter{bw: bufio.NewWriterSize(w, outBufSize), s: s, direct: direct}
	if direct && s.LiveOutput {
		ow.live = true
		ow.lastFlush = time.Now()
	}
	return ow
}

// written handles the result of a write to the buffer.
func (w *outWriter) written(err error) {
	if err != nil && isBrokenPipe(err) {
		w.broken = true
		panic(abortCommand{})
	}
	if w.live {
		if now := time.Now(); now.Sub(w.lastFlush) >= liveFlushEvery {
			w.lastFlush = now
			if err := w.bw.Flush(); err != nil && isBrokenPipe(err) {
				w.broken = true
				panic(abortCommand{})
			}
		}
	}
}

func (w *outWriter) Write(p []byte) (int, error) {
	if w.plain {
		return w.bw.Write(p)
	}
	if w.broken {
		panic(abortCommand{})
	}
	if w.s.interrupted.Load() {
		w.interrupted = true
		panic(abortCommand{})
	}
	n, err := w.bw.Write(p)
	w.written(err)
	return n, err
}

// WriteString lets fmt and io.WriteString skip a conversion.
func (w *outWriter) WriteString(s string) (int, error) {
	if w.plain {
		return w.bw.WriteString(s)
	}
	if w.broken {
		panic(abortCommand{})
	}
	if w.s.interrupted.Load() {
		w.interrupted = true
		panic(abortCommand{})
	}
	n, err := w.bw.WriteString(s)
	w.written(err)
	return n, err
}

// flush writes out what is buffered; a closed pipe is noted, not reported.
func (w *outWriter) flush() error {
	if w.broken {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		if isBrokenPipe(err) {
			w.broken = true
			return nil
		}
		return err
	}
	return nil
}

// errWriter is a command's Env.Err: warnings go to the session's error
// output, after whatever the command has written to the terminal so far,
// so that the two stay in order.
type errWriter struct {
	out *outWriter
	err io.Writer
}

func (w *errWriter) Write(p []byte) (int, error) {
	if w.out.direct {
		w.out.flush()
	}
	return w.err.Write(p)
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) ||
		errors.Is(err, io.ErrClosedPipe)
}
