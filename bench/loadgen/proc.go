package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Process accounting from /proc (Linux): the resident memory and CPU time
// of a peer's whole process tree (nginx's master and workers, say), and the
// generator's own CPU time.

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux platform Go supports.
const clockTick = 100

// tree returns pid and all its descendants.
func tree(pid int) ([]int, error) {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		children[st.ppid] = append(children[st.ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

type stat struct {
	ppid         int
	utime, stime int64 // clock ticks
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// The command name is in parentheses and may hold spaces: fields
	// are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("bad /proc stat")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return stat{}, errors.New("short /proc stat")
	}
	var s stat
	s.ppid, _ = strconv.Atoi(string(f[1]))
	s.utime, _ = strconv.ParseInt(string(f[11]), 10, 64)
	s.stime, _ = strconv.ParseInt(string(f[12]), 10, 64)
	return s, nil
}

// treeCPU returns the CPU time (user + system) used so far by pid's tree.
// Time used by descendants that already exited is not included; the
// peers' workers live as long as their master.
func treeCPU(pid int) (time.Duration, error) {
	pids, err := tree(pid)
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, p := range pids {
		st, err := readStat(p)
		if err != nil {
			continue
		}
		ticks += st.utime + st.stime
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// treeRSS returns the sum of VmRSS over pid's tree, in KiB.
func treeRSS(pid int) (int64, error) {
	pids, err := tree(pid)
	if err != nil {
		return 0, err
	}
	var kib int64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for l := range bytes.Lines(b) {
			if v, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
				f := bytes.Fields(v) // "1234 kB"
				if len(f) > 0 {
					n, _ := strconv.ParseInt(string(f[0]), 10, 64)
					kib += n
				}
				break
			}
		}
	}
	return kib, nil
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy returns the CPU time all processes have spent so far in user
// and system mode, plus the time the hypervisor stole (the "cpu" line of
// /proc/stat), or 0 if it cannot be read. Interrupt and softirq time is
// left out: loopback TCP is processed there, on behalf of the run itself,
// without being charged to any process. Compared with what the generator,
// the peer and the back end used, it shows how much other work on the
// machine took from the run.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	l, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(l)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0
	}
	// user nice system idle iowait irq softirq steal (guest time is
	// already counted in user).
	var busy int64
	for _, i := range []int{1, 2, 3, 8} {
		n, _ := strconv.ParseInt(string(f[i]), 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTick
}

// runQuiet waits until the machine is quiet: until, over a half-second
// window, all processes together use less than -below cores of user,
// system and stolen time, or -max passes. Run between load runs (when the
// benchmark's own processes are idle), it keeps unrelated work on a shared
// machine out of the next run as far as it can. It prints how long it
// waited and the last window's load.
func runQuiet(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quiet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	below := fs.Float64("below", 0.3, "quiet means less than this many `cores` busy")
	maxWait := fs.Duration("max", 10*time.Second, "wait at most this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	const window = 500 * time.Millisecond
	start := time.Now()
	var busy float64
	for {
		b0 := machineBusy()
		time.Sleep(window)
		busy = (machineBusy() - b0).Seconds() / window.Seconds()
		if busy < *below || time.Since(start)+window > *maxWait {
			break
		}
	}
	return writeJSON(stdout, map[string]any{"mode": "quiet", "waited_s": time.Since(start).Seconds(), "busy_cores": busy})
}
