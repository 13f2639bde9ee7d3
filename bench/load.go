package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// httpClient is the synthetic customers' and managers' HTTP client: keep-alive connections
// to the gateway on loopback, timeouts on everything.
type httpClient struct{ c *http.Client }

func newHTTPClient(concurrency int) *httpClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2*concurrency + 256,
		MaxIdleConnsPerHost: 2*concurrency + 256,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &httpClient{c: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (h *httpClient) CloseIdleConnections() { h.c.CloseIdleConnections() }

// do sends one request and returns the status and, when out is not nil, decodes the body into it.
func (h *httpClient) do(ctx context.Context, method, url, token string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// formLead is the body of lead i: a unique phone, a message (unique per run tag, so a
// targeted gateway's dedupe never mistakes a new run for a retry) that half the time hits
// the "price" qualify rule.
func formLead(tag string, i int) (body []byte, phone string) {
	phone = fmt.Sprintf("+7999%07d", i%10_000_000)
	msg := "Hello! Please call me back about your services, request " + tag + "-" + strconv.Itoa(i)
	if i%2 == 0 {
		msg = "Hello! What is the price of the premium package? Please call me back, request " + tag + "-" + strconv.Itoa(i)
	}
	b, _ := json.Marshal(map[string]any{"name": "Bench Customer " + strconv.Itoa(i), "phone": phone,
		"message": msg, "consent": true, "utm_source": "bench", "utm_campaign": "load"})
	return b, phone
}

// formResult counts form POST outcomes.
type formResult struct {
	accepted, duplicates, failed atomic.Int64
	latency                      samples
	firstErr                     atomic.Value
}

// postForm posts lead i to the web form; it records the request start with rec (may be nil).
func (b *runner) postForm(ctx context.Context, base string, i int, rec *recorder, res *formResult) {
	body, phone := formLead(b.tag, i)
	start := time.Now()
	if rec != nil {
		rec.markSent("form", phone, start)
	}
	var out struct {
		Duplicate bool `json:"duplicate"`
	}
	st, err := b.http.do(ctx, http.MethodPost, base+"/webhooks/form", "", body, &out)
	res.latency.add(time.Since(start))
	switch {
	case err == nil && st == http.StatusAccepted && !out.Duplicate:
		res.accepted.Add(1)
	case err == nil && st == http.StatusAccepted:
		res.duplicates.Add(1)
	default:
		res.failed.Add(1)
		if err == nil {
			err = fmt.Errorf("HTTP %d", st)
		}
		res.firstErr.CompareAndSwap(nil, err.Error())
	}
}

// closedLoop runs fn(i) for i in [from, from+n) on conc goroutines, as fast as they go, and
// stops early when ctx ends or after maxTime. It returns how long it ran.
func closedLoop(ctx context.Context, n, from, conc int, maxTime time.Duration, fn func(i int)) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(from + i)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// openLoop starts fn(i) at rate per second for d (i counting from from), on at most conc
// goroutines. When every goroutine is busy the schedule slips (reported as the achieved
// rate). It returns how many it started and how long that took.
func openLoop(ctx context.Context, rate float64, d time.Duration, from, conc int, fn func(i int)) (int, time.Duration) {
	if rate <= 0 {
		return 0, 0
	}
	jobs := make(chan int, conc)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(i)
			}
		}()
	}
	total := int(rate * d.Seconds())
	start := time.Now()
	issued := 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
loop:
	for issued < total {
		due := int(rate * time.Since(start).Seconds())
		if due > total {
			due = total
		}
		for ; issued < due; issued++ {
			select {
			case jobs <- from + issued:
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	return issued, time.Since(start)
}
