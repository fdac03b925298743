// Command benchdriver is the load generator of scripts/bench.sh: C workers
// send the same GET for a fixed time over kept-alive loopback connections
// and it prints one tab-separated result line: requests/s, p50, p99 (ms),
// errors (transport errors and statuses other than 200/304) and the peak
// resident memory of -pid during the run (VmHWM, reset at the start).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ",") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	url := flag.String("url", "", "URL to GET")
	token := flag.String("token", "", "bearer token")
	c := flag.Int("c", 50, "concurrent workers")
	d := flag.Duration("d", 5*time.Second, "how long to send")
	pid := flag.Int("pid", 0, "process whose peak RSS to report (0: none)")
	label := flag.String("label", "", "first column of the result line")
	var hs headers
	flag.Var(&hs, "H", "extra header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" || *c < 1 {
		fmt.Fprintln(os.Stderr, "usage: benchdriver -url URL [-token T] [-c 50] [-d 5s] [-pid PID] [-H 'Name: v']")
		os.Exit(2)
	}
	if *pid > 0 {
		// Writing 5 to clear_refs resets VmHWM, so the peak is this run's.
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", *pid), []byte("5"), 0)
	}
	tr := &http.Transport{MaxIdleConns: *c, MaxIdleConnsPerHost: *c, MaxConnsPerHost: *c, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	ctx, cancel := context.WithTimeout(context.Background(), *d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		statuses  = map[int]int{}
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range *c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			myErrs, mySt := 0, map[int]int{}
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, *url, nil)
				if *token != "" {
					req.Header.Set("Authorization", "Bearer "+*token)
				}
				for _, h := range hs {
					k, v, _ := strings.Cut(h, ":")
					req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				el := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					break // cut off by the end of the run, not a failure
				}
				mine = append(mine, el)
				switch {
				case err != nil:
					myErrs++
				default:
					mySt[resp.StatusCode]++
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
						myErrs++
					}
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errs += myErrs
			for k, v := range mySt {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	q := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	rss := "-"
	if *pid > 0 {
		if v, err := peakRSS(*pid); err == nil {
			rss = fmt.Sprintf("%.0f", float64(v)/1024)
		}
	}
	var st []string
	for k, v := range statuses {
		st = append(st, fmt.Sprintf("%d×%d", v, k))
	}
	slices.Sort(st)
	fmt.Printf("%s\t%.0f\t%.1f\t%.1f\t%d\t%s\t%s\n", *label, float64(len(latencies))/elapsed.Seconds(), q(0.50), q(0.99), errs, rss, strings.Join(st, " "))
}

// peakRSS is VmHWM of pid in KiB.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb, err
		}
	}
	return 0, errors.New("no VmHWM")
}
