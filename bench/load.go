package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// postJSON posts a JSON body and reports the status and whether the 2xx answer says
// "duplicate":true (the web form's answer is small and written without spaces: reading it
// costs the load generator less than decoding it).
func (h *httpClient) postJSON(ctx context.Context, url string, body []byte) (status int, duplicate bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	buf := answerBufs.Get().(*[512]byte) // a buffer on the stack would escape through io.Reader
	defer answerBufs.Put(buf)
	n, err := io.ReadFull(resp.Body, buf[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return resp.StatusCode, false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.StatusCode < 300 && bytes.Contains(buf[:n], []byte(`"duplicate":true`)), nil
}

// answerBufs are postJSON's buffers for the start of an answer (the load generator reads
// every answer without allocating, as io.Copy to io.Discard does for GET /healthz).
var answerBufs = sync.Pool{New: func() any { return new([512]byte) }}

// formLead is the body of lead i: a unique phone, a message (unique per run tag, so a
// targeted gateway's dedupe never mistakes a new run for a retry) that half the time hits
// the "price" qualify rule. Built by appending (every value is plain ASCII that needs no
// JSON escaping: the tag is hex), so the load generator spends little CPU per lead.
func formLead(tag string, i int) (body []byte, phone string) {
	phone = "+7999" + zeroPad7(i%10_000_000)
	b := make([]byte, 0, 256)
	b = append(b, `{"name":"Bench Customer `...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","phone":"`...)
	b = append(b, phone...)
	if i%2 == 0 {
		b = append(b, `","message":"Hello! What is the price of the premium package? Please call me back, request `...)
	} else {
		b = append(b, `","message":"Hello! Please call me back about your services, request `...)
	}
	b = append(b, tag...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","consent":true,"utm_source":"bench","utm_campaign":"load"}`...)
	return b, phone
}

// zeroPad7 is n (0 <= n < 10^7) in seven digits.
func zeroPad7(n int) string {
	var d [7]byte
	for i := 6; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return string(d[:])
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
	st, dup, err := b.http.postJSON(ctx, base+"/webhooks/form", body)
	res.latency.add(time.Since(start))
	switch {
	case err == nil && st == http.StatusAccepted && !dup:
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
