package measure

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Generator is a snapshot of what the k6 process itself spends. Cumulative
// values (CPU, GC) grow from the process start; the monitor scenario turns
// two snapshots into per-interval figures.
type Generator struct {
	AtMs        float64 `js:"atMs"`        // now() when taken
	CPUUserMs   float64 `js:"cpuUserMs"`   // process user CPU time since start
	CPUSystemMs float64 `js:"cpuSystemMs"` // process system CPU time since start
	RSSBytes    float64 `js:"rssBytes"`    // resident set size (0 where unknown)
	GCPauseMs   float64 `js:"gcPauseMs"`   // total stop-the-world GC pause since start
	GCCount     float64 `js:"gcCount"`     // garbage collections since start
	Cores       float64 `js:"cores"`       // GOMAXPROCS: how many cores k6 can use at once
	HostCPU     *Host   `js:"host"`        // the whole machine's CPU counters (Linux), or null
	LoopLag     LagStat `js:"loopLag"`     // VU event-loop lag since the previous snapshot
	TimerLag    LagStat `js:"timerLag"`    // a plain Go timer's lateness since the previous snapshot
}

// Host is the machine's cumulative CPU time over all cores, from /proc/stat.
type Host struct {
	BusyMs float64 `js:"busyMs"`
	IdleMs float64 `js:"idleMs"` // idle + iowait
	Cores  float64 `js:"cores"`  // online CPUs
}

func snapshot(lag *lagRegister) Generator {
	g := Generator{AtMs: nowMs(), Cores: float64(runtime.GOMAXPROCS(0))}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		g.CPUUserMs = tvMs(ru.Utime)
		g.CPUSystemMs = tvMs(ru.Stime)
	}
	g.RSSBytes = rss()
	var gc debug.GCStats
	debug.ReadGCStats(&gc)
	g.GCPauseMs = float64(gc.PauseTotal) / float64(time.Millisecond)
	g.GCCount = float64(gc.NumGC)
	g.HostCPU = hostCPU()
	g.LoopLag = lag.take()
	return g
}

func tvMs(tv syscall.Timeval) float64 {
	return float64(tv.Sec)*1e3 + float64(tv.Usec)/1e3
}

// rss reads the resident set size from /proc/self/statm (Linux); 0 elsewhere.
func rss() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0
	}
	return pages * float64(os.Getpagesize())
}

// clockTicks is USER_HZ, the unit of /proc/stat; 100 on every Linux ABI Go supports.
const clockTicks = 100

// hostCPU sums the aggregate "cpu" line of /proc/stat; nil where there is none.
func hostCPU() *Host {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) *Host {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var h *Host
	cores := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "cpu" && len(f) >= 5:
			h = &Host{}
			for i, s := range f[1:] {
				if i >= 8 { // guest and guest_nice are already counted in user and nice
					break
				}
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil
				}
				ms := v * 1000 / clockTicks
				if i == 3 || i == 4 { // idle, iowait
					h.IdleMs += ms
				} else {
					h.BusyMs += ms
				}
			}
		case strings.HasPrefix(f[0], "cpu"):
			cores++
		}
	}
	if h != nil {
		h.Cores = float64(cores)
	}
	return h
}
