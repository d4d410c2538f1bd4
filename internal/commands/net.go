package commands

// net: network devices, as crash's cmd_net / show_net_devices_v3 (net.c)
// print them.

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"kdive/internal/kernel/fs"
	"kdive/internal/kernel/net"
	"kdive/internal/kernel/tasks"
	"kdive/internal/program"
)

func init() {
	Register(&Command{
		Name:    "net",
		Summary: "network command",
		Usage:   netSynopsis,
		Help: `  This command displays the network devices of a network namespace, in the
  format of crash's "net": the address of each struct net_device, its name
  and its IPv4 addresses (in_device.ifa_list, comma-separated).

  With no argument the namespace is the current context's (the panic
  task unless another was chosen with set), init_net when it has none.

   -n pid | task  the devices of that task's network namespace
                  (task->nsproxy->net_ns).
   -N             kdive: the devices of every namespace on
                  net_namespace_list, each under a "NET: address" line.
   -6             kdive: the IPv6 addresses too, after the IPv4 ones (as
                  crash 8.0.3 and later print them).
   -a             the ARP cache (arp_tbl): each neighbour, its IP address,
                  hardware type and address, device and NUD state; nothing
                  when the cache is empty.
   -s [pid | task]  the open sockets of each task given (the current
                  context by default): fd, struct socket, struct sock, family:type
                  and, for INET and INET6, the bound and peer
                  address-port pairs.

EXAMPLE
    kdive> net
       NET_DEVICE     NAME   IP ADDRESS(ES)
    ffff8a870196b000  lo     127.0.0.1
    ffff8a8701968000  dummy0 10.77.0.5`,
		Run: runNet,
	})
}

const netSynopsis = "[-a] [-6] [-N | -n [pid | task]] | -s [pid | task] ..."

func runNet(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	var nflag, all, v6, sflag, aflag bool
	var rest []string
	for _, a := range args {
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		for _, c := range a[1:] {
			switch c {
			case 'n':
				nflag = true
			case 'N':
				all = true
			case '6':
				v6 = true
			case 's':
				sflag = true
			case 'a':
				aflag = true
			default:
				writeUsage(env, "net", netSynopsis)
				return fmt.Errorf("invalid option -- '%c'", c)
			}
		}
	}
	if sflag {
		return netSockets(env, rest)
	}
	if aflag {
		nb, warns, err := net.ARP(p)
		if err != nil {
			return err
		}
		warnAll(env, "net", warns)
		WriteARP(env.Out, nb)
		if !nflag && !all && len(rest) == 0 {
			return nil
		}
	}
	if len(rest) > 1 || (len(rest) == 1 && !nflag) {
		writeUsage(env, "net", netSynopsis)
		return errors.New("bad arguments")
	}
	var nss []uint64
	switch {
	case all:
		l, warns, err := net.Namespaces(p)
		if err != nil {
			return err
		}
		warnAll(env, "net", warns)
		nss = l
	case len(rest) == 1:
		r, err := tasks.List(p, tasks.Options{})
		if err != nil {
			return err
		}
		byAddr := map[uint64]tasks.Task{}
		for _, t := range r.Tasks {
			byAddr[t.Addr] = t
		}
		ts, err := findTasks(r.Tasks, byAddr, rest[0])
		if err != nil {
			return err
		}
		ns, err := net.TaskNamespace(p, ts[0].Addr)
		if err != nil {
			return err
		}
		nss = []uint64{ns}
	default:
		ns, err := defaultNetNS(p)
		if err != nil {
			return err
		}
		nss = []uint64{ns}
	}
	for _, ns := range nss {
		res, err := net.Devices(p, ns)
		if err != nil {
			return err
		}
		warnAll(env, "net", res.Warnings)
		if all {
			fmt.Fprintf(env.Out, "NET: %x\n", ns)
		}
		WriteNetDevices(env.Out, res.Devices, v6)
		if all {
			fmt.Fprintln(env.Out)
		}
	}
	return nil
}

// netSockets is crash's net -s: the sockets among the open files of each
// task given (the panic task by default).
func netSockets(env *Env, args []string) error {
	p := env.Prog
	r, err := fs.New(p)
	if err != nil {
		return err
	}
	tl, err := tasks.List(p, tasks.Options{})
	if err != nil {
		return err
	}
	byAddr := map[uint64]tasks.Task{}
	for _, t := range tl.Tasks {
		byAddr[t.Addr] = t
	}
	one := func(t tasks.Task, newline bool) error {
		tf, err := r.Task(t.Addr)
		if err != nil {
			return err
		}
		warnAll(env, "net", tf.Warnings)
		taskHeader(env.Out, t, newline)
		var socks []FDSocket
		for _, f := range tf.Files {
			if f.Inode == 0 || f.Mode&fs.S_IFMT != fs.S_IFSOCK {
				continue
			}
			s, err := net.SocketOfInode(p, f.Inode)
			if err != nil {
				warnAll(env, "net", []string{fmt.Sprintf("fd %d: %v", f.FD, err)})
				continue
			}
			socks = append(socks, FDSocket{FD: f.FD, Socket: *s})
		}
		WriteSockets(env.Out, socks)
		return nil
	}
	if len(args) == 0 {
		run, err := activeSet(p)
		if err != nil {
			return err
		}
		t, ok := currentTask(p, tl.Tasks, run)
		if !ok {
			return errors.New("no panic task: give a pid or task")
		}
		return one(t, false)
	}
	subsequent := false
	var failed error
	for _, a := range args {
		ts, err := findTasks(tl.Tasks, byAddr, a)
		if err != nil {
			// Each bad argument is reported, the last as the command's
			// error (printed once by the caller), and the others go on.
			if failed != nil {
				fmt.Fprintf(env.Err, "net: %v\n", failed)
			}
			failed = err
			subsequent = true
			continue
		}
		for _, t := range ts {
			if err := one(t, subsequent); err != nil {
				return err
			}
			subsequent = true
		}
	}
	return failed
}

// FDSocket is a socket open on a file descriptor.
type FDSocket struct {
	FD int
	net.Socket
}

// WriteSockets prints crash's net -s table, or "No open sockets.".
func WriteSockets(w io.Writer, socks []FDSocket) {
	if len(socks) == 0 {
		fmt.Fprintln(w, "No open sockets.")
		return
	}
	fmt.Fprintln(w, "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT")
	for _, s := range socks {
		fmt.Fprintf(w, "%2d %16x %16x %s\n", s.FD, s.Socket.Socket, s.Sock, sockInfo(&s.Socket))
	}
}

var sockFamilies = map[uint16]string{
	0: "UNSPEC", 1: "UNIX", 2: "INET", 3: "AX25", 4: "IPX", 5: "APPLETALK", 6: "NETROM", 7: "BRIDGE",
	8: "ATMPVC", 9: "X25", 10: "INET6", 11: "ROSE", 12: "DECnet", 13: "NETBEUI", 14: "SECURITY/KEY",
	16: "NETLINK/ROUTE", 17: "PACKET", 18: "ASH", 19: "ECONET", 20: "ATMSVC", 22: "SNA", 23: "IRDA", 24: "PPPOX",
}

var sockTypes = map[uint16]string{1: "STREAM", 2: "DGRAM ", 3: "RAW", 4: "RDM", 5: "SEQPACKET", 10: "PACKET"}

// sockInfo is crash's get_sock_info: FAMILY:TYPE, then for INET the
// bound and peer address-port pairs; for INET6 crash's
// "%x:%x:...-port" spelling (kdive reads the addresses from sock_common,
// where 3.13 and later keep them).
func sockInfo(s *net.Socket) string {
	var b strings.Builder
	if f, ok := sockFamilies[s.Family]; ok {
		b.WriteString(f + ":")
	} else {
		fmt.Fprintf(&b, "%d:", s.Family)
	}
	if t, ok := sockTypes[s.Type]; ok {
		b.WriteString(t)
	} else {
		fmt.Fprintf(&b, "%d", s.Type)
	}
	b.WriteString(" ")
	switch s.Family {
	case net.AF_INET:
		if s.Src.IsValid() && s.Dst.IsValid() {
			fmt.Fprintf(&b, " %s-%d %s-%d", s.Src, s.SrcPort, s.Dst, s.DstPort)
		}
	case net.AF_INET6:
		if s.Src.IsValid() && s.Dst.IsValid() {
			src := in6Port(s.Src, s.SrcPort)
			fmt.Fprintf(&b, "%12s %s", src, mkCenter(in6Port(s.Dst, s.DstPort), len(src), false))
		}
	}
	return b.String()
}

func in6Port(a netip.Addr, port uint16) string {
	b := a.As16()
	var parts []string
	for i := 0; i < 16; i += 2 {
		parts = append(parts, strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	return strings.Join(parts, ":") + "-" + strconv.Itoa(int(port))
}

// taskHeader is crash's print_task_header.
func taskHeader(w io.Writer, t tasks.Task, newline bool) {
	cpu := "?"
	if t.Idle {
		cpu = strconv.Itoa(t.IdleCPU)
	} else if t.CPU >= 0 {
		cpu = strconv.Itoa(t.CPU)
	}
	nl := ""
	if newline {
		nl = "\n"
	}
	fmt.Fprintf(w, "%sPID: %-7d  TASK: %-16x  CPU: %-3s  COMMAND: \"%s\"\n", nl, t.PID, t.Addr, cpu, t.Comm)
}

// defaultNetNS is crash's: the namespace of the current context (the
// panic task), or init_net when that task has none to show.
func defaultNetNS(p *program.Program) (uint64, error) {
	if tl, err := tasks.List(p, tasks.Options{}); err == nil {
		if run, err := activeSet(p); err == nil {
			if t, ok := currentTask(p, tl.Tasks, run); ok {
				if ns, err := net.TaskNamespace(p, t.Addr); err == nil {
					return ns, nil
				}
			}
		}
	}
	return net.InitNet(p)
}

func warnAll(env *Env, cmd string, warns []string) {
	if env.Err == nil {
		return
	}
	for _, w := range warns {
		fmt.Fprintf(env.Err, "%s: %s\n", cmd, w)
	}
}

// WriteNetDevices prints crash 8.0.2's device table: the NET_DEVICE column
// is max(VADDR_PRLEN, strlen("net_device")) wide, the name "%-6s " (longer
// names push the addresses right), then the addresses joined by ", ".
func WriteNetDevices(w io.Writer, devs []net.Device, v6 bool) {
	fmt.Fprintf(w, "%s  NAME   IP ADDRESS(ES)\n", mkCenter("NET_DEVICE", 16, false))
	for _, d := range devs {
		var addrs []string
		for _, a := range d.IPv4 {
			addrs = append(addrs, a.String())
		}
		if v6 {
			for _, a := range d.IPv6 {
				addrs = append(addrs, a.String())
			}
		}
		fmt.Fprintf(w, "%16x  %-6s %s\n", d.Addr, d.Name, strings.Join(addrs, ", "))
	}
}

var arpTypes = map[uint16]string{1: "ETHER", 0: "NETROM", 2: "EETHER", 3: "AX25", 4: "PRONET", 5: "CHAOS",
	6: "IEEE802", 7: "ARCNET", 8: "APPLETLK", 15: "DLCI", 23: "METRICOM"}

var nudNames = []string{"INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "NOARP", "PERMANENT"}

// WriteARP prints crash's net -a table (dump_arp / print_neighbour_q):
// nothing at all for an empty cache.
func WriteARP(w io.Writer, nbs []net.Neighbour) {
	if len(nbs) == 0 {
		return
	}
	fmt.Fprintln(w, "NEIGHBOUR        IP ADDRESS      HW TYPE    HW ADDRESS         DEVICE  STATE")
	for _, n := range nbs {
		var b strings.Builder
		fmt.Fprintf(&b, "%-16x %-16s", n.Addr, n.IP)
		t, ok := arpTypes[n.DevType]
		if !ok {
			t = "UNKNOWN"
		}
		fmt.Fprintf(&b, "%-10s ", t)
		for i, c := range n.HA {
			sep := " "
			if n.DevType == 1 && i < len(n.HA)-1 {
				sep = ":"
			}
			fmt.Fprintf(&b, "%02x%s", c, sep)
		}
		fmt.Fprintf(&b, " %-6s  ", n.DevName)
		var flags []string
		for i, name := range nudNames {
			if n.State&(1<<i) != 0 {
				flags = append(flags, name)
			}
		}
		b.WriteString(strings.Join(flags, "|"))
		fmt.Fprintln(w, b.String())
	}
}
