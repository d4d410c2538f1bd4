package commands

// net: network devices, as crash's cmd_net / show_net_devices_v3 (net.c)
// print them.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"kdive/internal/kernel/net"
	"kdive/internal/kernel/tasks"
)

func init() {
	Register(&Command{
		Name:    "net",
		Summary: "network command",
		Usage:   netSynopsis,
		Help: `  This command displays the network devices of a network namespace, in the
  format of crash's "net": the address of each struct net_device, its name
  and its IPv4 addresses (in_device.ifa_list, comma-separated).

  With no argument the namespace is init_net's.

   -n pid | task  the devices of that task's network namespace
                  (task->nsproxy->net_ns).
   -N             kdive: the devices of every namespace on
                  net_namespace_list, each under a "NET: address" line.
   -6             kdive: the IPv6 addresses too, after the IPv4 ones (as
                  crash 8.0.3 and later print them).

EXAMPLE
    kdive> net
       NET_DEVICE     NAME   IP ADDRESS(ES)
    ffff8a870196b000  lo     127.0.0.1
    ffff8a8701968000  dummy0 10.77.0.5`,
		Run: runNet,
	})
}

const netSynopsis = "[-6] [-N | -n [pid | task]]"

func runNet(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	var nflag, all, v6 bool
	var rest []string
	for _, a := range args {
		switch a {
		case "-n":
			nflag = true
		case "-N":
			all = true
		case "-6":
			v6 = true
		default:
			if strings.HasPrefix(a, "-") {
				writeUsage(env, "net", netSynopsis)
				return fmt.Errorf("invalid option: %s", a)
			}
			rest = append(rest, a)
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
		ns, err := net.InitNet(p)
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
