package commands

// log: the kernel message buffer, as crash's cmd_log (kernel.c) and
// dump_record / dump_log_entry (printk.c, kernel.c) print it.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"kdive/internal/kernel/printk"
	"kdive/internal/kernel/sysinfo"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "log",
		Summary: "dump system message buffer",
		Usage:   logSynopsis,
		Help: `  This command dumps the kernel log_buf contents in chronological order,
  one record a line as crash prints them: the time stamp "[    1.234567] ",
  then the text; a record of several lines has its following lines
  indented under the first, and bytes that are neither printable nor white
  space are shown as '.'.

        -T  display the message time stamps in a human readable format:
            the boot date (the crash date minus the uptime) plus the
            record's seconds since boot, in the local time zone (TZ).
        -t  do not display the time stamps.
        -d  display the dictionary of each record (dev_printk's
            SUBSYSTEM= and DEVICE= lines), indented under its text.
        -m  display the message level before each record's text, "<6>".
        -c  display the caller of each record: "[T123]" for the task with
            PID 123, "[C1]" for CPU 1 outside task context (crash 8.1+).
        -a  dump the kernel's pending audit records (audit_hold_queue,
            audit_retry_queue, audit_queue), "type=N text".
        -s  the printk_safe buffers; kernels with the lockless ring buffer
            (5.10+) have none, so nothing more is printed.

EXAMPLES
    kdive> log
    [    0.000000] Linux version 6.1.0-53-cloud-amd64 ...
    kdive> log -m | grep '<3>'
    kdive> log -T | tail -1
    [Sun Nov 22 10:50:36 UTC 2026] Kernel Offset: 0x27400000 ...`,
		Run: runLog,
	})
}

const logSynopsis = "[-Ttdmasc]"

// Log display flags (crash's SHOW_LOG_*).
const (
	LogText   = 1 << iota // -t: no time stamps
	LogDict               // -d: dictionary lines
	LogLevel              // -m: <level>
	LogCTime              // -T: wall-clock time stamps
	LogCaller             // -c: caller id
)

// LogOptions is how WriteLog prints a log.
type LogOptions struct {
	Flags int
	// BootDate is crash's kt->boot_date (the crash time minus the uptime),
	// for LogCTime.
	BootDate time.Time
	// PidChars is the caller column width (crash: 6 when pid_max <= 99999,
	// 7 when <= 999999, else 8).
	PidChars int
}

func runLog(env *Env, args []string) error {
	opts, rest, err := getopt("log", args, "Ttdmasc")
	if err != nil {
		writeUsage(env, "log", logSynopsis)
		return err
	}
	if len(rest) > 0 {
		writeUsage(env, "log", logSynopsis)
		return fmt.Errorf("unexpected argument: %s", rest[0])
	}
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	o := LogOptions{PidChars: 8}
	audit, safe := false, false
	for _, op := range opts {
		switch op.c {
		case 'T':
			o.Flags |= LogCTime
		case 't':
			o.Flags |= LogText
		case 'd':
			o.Flags |= LogDict
		case 'm':
			o.Flags |= LogLevel
		case 'c':
			o.Flags |= LogCaller
		case 'a':
			audit = true
		case 's':
			safe = true
		}
	}
	if audit {
		return writeAudit(env, p)
	}
	if safe {
		// printk_safe_seq_buf is gone since the lockless ring buffer.
		return nil
	}
	lg, err := printk.Read(p)
	if err != nil {
		return err
	}
	for _, w := range lg.Warnings {
		fmt.Fprintf(env.Err, "log: %s\n", w)
	}
	if o.Flags&LogCTime != 0 {
		zero := 0
		in, err := sysinfo.Gather(p, sysinfo.Options{Log: lg, Tasks: &zero, HeaderTime: dumpTime(p)})
		if err != nil {
			return err
		}
		if !in.DateKnown || !in.JiffiesOK {
			return errors.New("-T: cannot tell the boot date (no crash time or jiffies)")
		}
		o.BootDate = BootDate(in)
	}
	if o.Flags&LogCaller != 0 {
		o.PidChars = pidChars(p)
	}
	WriteLog(env.Out, lg.Records, o)
	return nil
}

func dumpTime(p *program.Program) time.Time {
	if p.Dump == nil {
		return time.Time{}
	}
	return p.Dump.Info().Timestamp
}

// BootDate is crash's kt->boot_date: the crash date less the uptime in
// whole seconds (task_init).
func BootDate(in *sysinfo.Info) time.Time {
	hz := in.HZ
	if hz <= 0 {
		hz = 1000
	}
	up := in.UptimeJiffies() / uint64(hz)
	return time.Unix(in.Date.Unix()-int64(up), 0)
}

// pidChars sizes the -c column from pid_max as crash does.
func pidChars(p *program.Program) int {
	a, err := p.Symbol("pid_max")
	if err != nil {
		return 8
	}
	var b [4]byte
	if _, err := p.ReadAt(b[:], a); err != nil {
		return 8
	}
	switch v := binary.LittleEndian.Uint32(b[:]); {
	case v <= 99999:
		return 6
	case v <= 999999:
		return 7
	}
	return 8
}

// WriteLog prints records as crash's log does.
func WriteLog(w io.Writer, recs []printk.Record, o LogOptions) {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	var b strings.Builder
	for i := range recs {
		b.Reset()
		LogRecord(&b, &recs[i], o)
		b.WriteByte('\n')
		if _, err := bw.WriteString(b.String()); err != nil {
			return
		}
	}
}

// LogRecord formats one record without its final newline. A record with
// no text block is an empty line, as in crash.
func LogRecord(b *strings.Builder, r *printk.Record, o LogOptions) {
	if r.NoData {
		return
	}
	start := b.Len()
	if o.Flags&LogText == 0 {
		if o.Flags&LogCTime != 0 {
			t := o.BootDate.Add(time.Duration(r.TsNsec/1e9) * time.Second)
			b.WriteString("[" + sysinfo.FormatDate(t) + "] ")
		} else {
			b.WriteString(printk.Timestamp(r.TsNsec) + " ")
		}
	}
	if o.Flags&LogCaller != 0 {
		kind, id := 'T', r.CallerID
		if id&0x80000000 != 0 {
			kind, id = 'C', id&^0x80000000
		}
		fmt.Fprintf(b, "[%*s] ", o.PidChars, fmt.Sprintf("%c%d", kind, id))
	}
	if o.Flags&LogLevel != 0 {
		fmt.Fprintf(b, "<%x>", r.Level)
	}
	ilen := b.Len() - start
	b.WriteString(printk.CrashText(r, ilen))
	if o.Flags&LogDict != 0 {
		pad := strings.Repeat(" ", ilen)
		if r.Subsystem != "" {
			b.WriteString("\n" + pad + "SUBSYSTEM=" + r.Subsystem)
		}
		if r.Device != "" {
			b.WriteString("\n" + pad + "DEVICE=" + r.Device)
		}
	}
}

// writeAudit prints the kernel's queued audit records as crash's
// dump_audit does.
func writeAudit(env *Env, p *program.Program) error {
	var queues []string
	if _, err := p.Symbol("audit_skb_queue"); err == nil {
		queues = []string{"audit_skb_hold_queue", "audit_skb_queue"}
	} else if _, err := p.Symbol("audit_queue"); err == nil {
		queues = []string{"audit_hold_queue", "audit_retry_queue", "audit_queue"}
	} else {
		return errors.New("-a option not supported or applicable on this architecture or kernel")
	}
	off := func(typ, m string) (uint64, error) { return p.MemberOffset(typ, m) }
	oNext, err1 := off("sk_buff_head", "next")
	oQlen, err2 := off("sk_buff_head", "qlen")
	oData, err3 := off("sk_buff", "data")
	oLen, err4 := off("sk_buff", "len")
	oSkNext, err5 := off("sk_buff", "next")
	oType, err6 := off("nlmsghdr", "nlmsg_type")
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return fmt.Errorf("-a: %v", err)
	}
	total := 0
	for _, q := range queues {
		head, err := p.Symbol(q)
		if err != nil {
			continue
		}
		qlen, err := lgReadU32(p, head+oQlen)
		if err != nil {
			return err
		}
		if qlen == 0 {
			continue
		}
		total += int(qlen)
		skb, err := lgReadU64(p, head+oNext)
		if err != nil {
			return err
		}
		for i := 0; skb != head && i < 1<<20; i++ {
			if skb == 0 {
				return fmt.Errorf("%s.next: NULL", q)
			}
			n, err := lgReadU32(p, skb+oLen)
			if err != nil {
				return err
			}
			data, err := lgReadU64(p, skb+oData)
			if err != nil {
				return err
			}
			const hdr = 16 // NLMSG_HDRLEN
			if n < hdr || n > 1<<20 {
				return fmt.Errorf("sk_buff %#x: bad len %d", skb, n)
			}
			var tb [2]byte
			if _, err := p.ReadAt(tb[:], data+oType); err != nil {
				return err
			}
			buf := make([]byte, n-hdr)
			if _, err := p.ReadAt(buf, data+hdr); err != nil {
				return err
			}
			if k := strings.IndexByte(string(buf), 0); k >= 0 {
				buf = buf[:k]
			}
			fmt.Fprintf(env.Out, "type=%d %s\n", binary.LittleEndian.Uint16(tb[:]), buf)
			if skb, err = lgReadU64(p, skb+oSkNext); err != nil {
				return err
			}
		}
	}
	if total == 0 {
		fmt.Fprintln(env.Err, "log: kernel audit log is empty")
	}
	return nil
}

func lgReadU64(p *program.Program, addr uint64) (uint64, error) {
	var b [8]byte
	if _, err := p.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func lgReadU32(p *program.Program, addr uint64) (uint32, error) {
	var b [4]byte
	if _, err := p.ReadAt(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}
