package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/lidorub/lidorub/channels/email"
	"github.com/lidorub/lidorub/channels/email/emailtest"
	"github.com/lidorub/lidorub/clock"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/router"
)

// TestServeEmail runs the wired gateway against real IMAP and SMTP servers: a customer's
// mail is offered to the online manager (the reader wakes up from IDLE), acknowledged by
// mail, the customer's out-of-office answer to the acknowledgement is ignored (no loop), the
// manager's reply goes out in the customer's thread (retried after a greylisting 451), and
// the customer's answer to it lands in the same conversation. It reports the latency from
// the mail's arrival to the offer.
func TestServeEmail(t *testing.T) {
	im := emailtest.NewIMAP(t, emailtest.TLSImplicit)
	sm := emailtest.NewSMTP(t, emailtest.TLSStartTLS)
	idle := true
	cfg := &config.Config{
		Managers: []router.Manager{{ID: "anna", Name: "Anna", Token: annaToken}},
		Channels: config.Channels{Email: email.Config{Enabled: true, LeaseTTL: 60 * time.Second, RetryAfter: 300 * time.Millisecond, Mailboxes: []email.Mailbox{{
			Name: "sales", Address: emailtest.User, DisplayName: "Shop",
			IMAP: email.IMAPConfig{Server: email.Server{Host: im.Host, Port: im.Port, TLS: im.Mode, CAFile: im.CAFile,
				Username: emailtest.User, Password: emailtest.Password}, Idle: &idle, PollInterval: 30 * time.Second},
			SMTP: email.SMTPConfig{Server: email.Server{Host: sm.Host, Port: sm.Port, TLS: sm.Mode, CAFile: sm.CAFile}},
		}}}},
	}
	cfg.Redis.URL = redistest.URL(t)
	cfg.Redis.Prefix = redistest.Prefix()
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := Build(ctx, cfg, testLogger(), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	api := func(method, path, body string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+annaToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, b)
			}
		}
		return res.StatusCode
	}
	metric := func(series string) string {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, series+" ") {
				return strings.TrimPrefix(l, series+" ")
			}
		}
		return ""
	}
	// waitFor polls the gateway's effects (its loops run against real servers), not a timer.
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	fixture := func(name string) []byte {
		b, err := os.ReadFile("../channels/email/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	parse := func(r emailtest.Received) gomail.Header {
		e, err := message.Read(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		return gomail.Header{Header: e.Header}
	}

	if code := api("PUT", "/api/v1/managers/anna/status", `{"online": true}`, nil); code != 200 {
		t.Fatalf("online: %d", code)
	}
	// A list mail first: once it is counted, the reader has synced and is waiting in IDLE.
	im.Append(t, "INBOX", fixture("bulk.eml"))
	waitFor("the first sync", func() bool {
		return metric(`lidorub_email_messages_total{mailbox="sales",result="automatic"}`) == "1"
	})

	var o struct {
		Offers []router.Conversation `json:"offers"`
	}
	start := time.Now()
	im.Append(t, "INBOX", fixture("plain.eml"))
	waitFor("the offer", func() bool { api("GET", "/api/v1/managers/anna/conversations", "", &o); return len(o.Offers) == 1 })
	t.Logf("IDLE to offer: mail appended on the IMAP server → offered through the API in %s", time.Since(start))
	conv := o.Offers[0]
	if conv.Channel != email.Name || conv.ContactID != "ivan@example.ru" || conv.Name != "Иван Петров" {
		t.Fatalf("offer %+v", conv)
	}

	// The acknowledgement goes out by mail, marked automatic, in the customer's thread.
	waitFor("the acknowledgement", func() bool { return len(sm.Received()) == 1 })
	ack := parse(sm.Received()[0])
	ackID, _ := ack.MessageID()
	if ack.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(ack.Get("In-Reply-To"), "plain-1@mail.example.ru") {
		t.Fatalf("acknowledgement headers: Auto-Submitted %q, In-Reply-To %q", ack.Get("Auto-Submitted"), ack.Get("In-Reply-To"))
	}
	// The customer's out-of-office answers it: ignored, nothing is sent back.
	ooo := strings.Replace(string(fixture("autoreply.eml")), "Subject:", "In-Reply-To: <"+ackID+">\r\nSubject:", 1)
	im.Append(t, "INBOX", []byte(ooo))
	waitFor("the auto-reply to be read", func() bool {
		return metric(`lidorub_email_messages_total{mailbox="sales",result="automatic"}`) == "2"
	})

	// The manager takes the lead and answers.
	id := fmt.Sprint(conv.ID)
	if code := api("POST", "/api/v1/conversations/"+id+"/accept", "", nil); code != 200 {
		t.Fatalf("accept: %d", code)
	}
	// The mail server greylists the first attempt (451): the outbound worker retries.
	sm.Fail(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again later"}, nil)
	if code := api("POST", "/api/v1/conversations/"+id+"/messages", `{"text":"Иван, доставка в Тверь — 1500 ₽."}`, nil); code != http.StatusAccepted {
		t.Fatalf("reply: %d", code)
	}
	waitFor("the greylisted attempt", func() bool {
		return metric(`lidorub_email_sends_total{mailbox="sales",result="temporary"}`) != "0"
	})
	sm.Fail(nil, nil)
	waitFor("the reply", func() bool { return len(sm.Received()) == 2 })
	rep := parse(sm.Received()[1])
	repID, _ := rep.MessageID()
	if subj, _ := rep.Subject(); subj != "Re: Вопрос по доставке" || rep.Get("Auto-Submitted") != "" ||
		!strings.Contains(rep.Get("References"), "plain-1@mail.example.ru") {
		t.Fatalf("reply: subject %q, References %q", subj, rep.Get("References"))
	}
	if len(sm.Received()) != 2 {
		t.Fatal("the out-of-office mail was answered")
	}
	waitFor("speed-to-lead", func() bool { return metric(`lidorub_speed_to_lead_seconds_count{channel="email"}`) == "1" })

	// The customer answers the reply: the same conversation.
	ans := strings.Replace(string(fixture("reply.eml")), "c1-r1.lidorub@shop.example", repID, -1)
	im.Append(t, "INBOX", []byte(ans))
	var tr struct {
		Transcript []router.Message `json:"transcript"`
	}
	waitFor("the answer in the conversation", func() bool {
		api("GET", "/api/v1/conversations/"+id, "", &tr)
		n := len(tr.Transcript)
		return n > 0 && tr.Transcript[n-1].Dir == "in" && strings.HasPrefix(tr.Transcript[n-1].Text, "Thanks, the price suits us.")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
