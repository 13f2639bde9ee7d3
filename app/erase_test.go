package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lidorub/lidorub/channels"
	"github.com/lidorub/lidorub/channels/meta"
	"github.com/lidorub/lidorub/channels/telegram/telegramtest"
	"github.com/lidorub/lidorub/config"
	"github.com/lidorub/lidorub/internal/redistest"
	"github.com/lidorub/lidorub/internal/testlog"
	"github.com/lidorub/lidorub/router"
)

const (
	eraseSupervisorToken = "sue-serve-token-91b3c7"
	eraseTelegramToken   = "222222:erase-shop-token-BBBB"
	eraseTelegramSecret  = "erase_webhook_secret_0123456789"
	eraseIGAccount       = "17841400000000077"
	eraseWAPhoneID       = "106540352242977"
	eraseWebChatOrigin   = "https://shop.example"
)

// eraseGateway is an in-process gateway with every channel enabled against fakes: the web
// form, Telegram (webhook mode, telegramtest as the Bot API), Instagram and WhatsApp Cloud
// (signed webhooks, a fake Graph API), the website chat (its session history is the
// visitor's own copy of the conversation), and the WhatsApp linked device (its leads enter at the
// ingest boundary exactly as channels/whatsapp builds them, and its sends go to a fake sender:
// whatsmeow's client seam lives in that package's tests).
type eraseGateway struct {
	*testGateway
	needles []string // personal data written through the channels
	convs   []int64
	logs    *testlog.Buffer // everything the gateway logged, at debug level
}

func newEraseGateway(t *testing.T) *eraseGateway {
	t.Helper()
	tgAPI := telegramtest.New(t)
	graph := newFakeGraph(t)
	_, prefix := redistest.New(t)
	doc := fmt.Sprintf(`
instance_id: erasetest
log:
  level: error
http:
  listen: "127.0.0.1:0"
redis:
  url: %s
  prefix: %s
router:
  offer_timeout: 30m
  first_response: 30m
  retention: 30d
managers:
  - id: anna
    token: %s
    capacity: 10
  - id: sue
    role: supervisor
    token: %s
templates:
  auto_ack: "Thank you! A manager will answer you within a minute."
  close: "Thank you for your interest!"
channels:
  form:
    rate_per_minute: -1
  telegram:
    enabled: true
    api_url: %s
    bots:
      - name: shop
        token: %s
        mode: webhook
        webhook_url: https://leads.example.com/webhooks/telegram/shop
        webhook_secret: %s
  instagram:
    enabled: true
    app_secret: igsecret
    verify_token: igverify
    graph_url: %s
    accounts:
      - id: "%s"
        name: shop
        token: igtoken
  whatsappcloud:
    enabled: true
    app_secret: wasecret
    verify_token: waverify
    graph_url: %s
    accounts:
      - phone_number_id: "%s"
        token: watoken
  webchat:
    enabled: true
    secret: erase-webchat-secret-0123456789abcdef
    allowed_origins: ["%s"]
`, redistest.URL(t), prefix, annaToken, eraseSupervisorToken, tgAPI.URL, eraseTelegramToken, eraseTelegramSecret,
		graph.URL, eraseIGAccount, graph.URL, eraseWAPhoneID, eraseWebChatOrigin)
	cfg, err := config.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &testlog.Buffer{}
	eg := &eraseGateway{testGateway: newTestGatewayLog(t, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		logs: logs}
	// Logs never carry message texts, phones, names, e-mail addresses or contact ids.
	t.Cleanup(func() {
		if logs.String() == "" {
			t.Error("nothing was logged: the log check would prove nothing")
		}
		for _, s := range eg.needles {
			if i := strings.Index(logs.String(), s); i >= 0 {
				t.Errorf("the logs contain personal data %q: %s", s, logs.String()[max(0, i-300):min(len(logs.String()), i+100)])
			}
		}
	})
	eg.g.Router.RegisterSender(channels.WhatsApp, channels.SenderFunc(func(_ context.Context, out channels.Outbound) (channels.SendResult, error) {
		return channels.SendResult{ChannelMessageID: "3EB0" + strings.ToUpper(strconv.FormatInt(time.Now().UnixNano(), 16))}, nil
	}))
	return eg
}

// fakeGraph answers the Graph API calls of both Meta channels in the documented shapes.
type fakeGraph struct {
	*httptest.Server
	n atomic.Int64
}

func newFakeGraph(t *testing.T) *fakeGraph {
	g := &fakeGraph{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := g.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet: // a user profile
			fmt.Fprint(w, `{"name": "Irina Volkova", "username": "irina.volkova.style", "id": "5512345678901234"}`)
		case strings.Contains(r.URL.Path, eraseWAPhoneID):
			var req struct {
				To string `json:"to"`
			}
			_ = json.Unmarshal(body, &req)
			fmt.Fprintf(w, `{"messaging_product": "whatsapp", "contacts": [{"input": %q, "wa_id": %q}], "messages": [{"id": "wamid.HBgLout%d"}]}`, req.To, req.To, n)
		default:
			fmt.Fprintf(w, `{"recipient_id": "5512345678901234", "message_id": "m_out%d"}`, n)
		}
	}))
	t.Cleanup(g.Close)
	return g
}

// post sends a webhook body to path with the given headers; it must be answered 2xx.
func (eg *eraseGateway) post(path string, body []byte, headers map[string]string) {
	eg.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, eg.srv.URL+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := eg.srv.Client().Do(req)
	if err != nil {
		eg.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		eg.t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
}

// writeLeads makes one lead per channel, has anna take each one and answer it (the answers
// are sent through the channels to the fakes), and records every personal datum written.
func (eg *eraseGateway) writeLeads() {
	eg.t.Helper()
	eg.online("anna", annaToken)
	ts := t0.Unix()

	// Web form.
	eg.formLead(`{"name": "Ivan Petrovsky", "phone": "8 (916) 123-45-67", "email": "ivan.petrovsky@example.com",
		"message": "Call me back about the walnut sofa", "consent": true, "page_url": "https://shop.example/sofa"}`)
	eg.needles = append(eg.needles, "Petrovsky", "9161234567", "123-45-67", "ivan.petrovsky@example.com", "walnut sofa")

	// Telegram (webhook).
	eg.post("/webhooks/telegram/shop", []byte(fmt.Sprintf(`{"update_id": 500001, "message": {"message_id": 31,
		"date": %d, "from": {"id": 7001234, "is_bot": false, "first_name": "Olga", "last_name": "Smirnovskaya", "username": "olga_travels_77"},
		"chat": {"id": 7001234, "type": "private", "first_name": "Olga", "last_name": "Smirnovskaya", "username": "olga_travels_77"},
		"text": "Bali for two in March, my number +7 926 555-12-34"}}`, ts)),
		map[string]string{"X-Telegram-Bot-Api-Secret-Token": eraseTelegramSecret})
	eg.needles = append(eg.needles, "7001234", "Smirnovskaya", "olga_travels_77", "Bali for two", "555-12-34")

	// Instagram Direct.
	ig := []byte(fmt.Sprintf(`{"object": "instagram", "entry": [{"id": %q, "time": %d, "messaging": [{"sender": {"id": "5512345678901234"},
		"recipient": {"id": %q}, "timestamp": %d, "message": {"mid": "aWdfZAG1faWQ6erase1", "text": "Is the crimson velvet dress in stock?"}}]}]}`,
		eraseIGAccount, ts*1000, eraseIGAccount, ts*1000))
	eg.post("/webhooks/instagram", ig, map[string]string{meta.SignatureHeader: meta.Sign("igsecret", ig)})
	eg.needles = append(eg.needles, "5512345678901234", "crimson velvet", "Irina Volkova", "irina.volkova.style")

	// WhatsApp Cloud API.
	wa := []byte(fmt.Sprintf(`{"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
		"value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": %q},
		"contacts": [{"profile": {"name": "Kateryna Wildeheart"}, "wa_id": "16315551181"}],
		"messages": [{"from": "16315551181", "id": "wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQUVFRASE", "timestamp": "%d", "type": "text",
		"text": {"body": "Need a quote for forty oak chairs"}}]}}]}]}`, eraseWAPhoneID, ts))
	eg.post("/webhooks/whatsapp", wa, map[string]string{meta.SignatureHeader: meta.Sign("wasecret", wa)})
	eg.needles = append(eg.needles, "6315551181", "Wildeheart", "forty oak chairs")

	// WhatsApp linked device: the Inbound channels/whatsapp builds from a whatsmeow message.
	if _, err := eg.g.Ingest.Ingest(eg.ctx, channels.Inbound{Channel: channels.WhatsApp, Account: "default",
		MessageID: "3EB0C431C26A1916E07E", ContactID: "79035556677", Phone: "+79035556677", DisplayName: "Fyodor Ushakovsky",
		Text: "Deliver to Tverskaya street please", SentAt: t0, ReceivedAt: t0}); err != nil {
		eg.t.Fatal(err)
	}
	eg.needles = append(eg.needles, "9035556677", "Ushakovsky", "Tverskaya")

	// Website chat: a session, then a message with the visitor's name and phone.
	var sess struct{ Token string }
	eg.webchat("/webchat/v1/session", "", `{}`, &sess)
	eg.webchat("/webchat/v1/messages", sess.Token, `{"id": "m1", "text": "Is the amber chandelier still for sale?",
		"consent": true, "name": "Vasilisa Premudraya", "phone": "+7 903 777-88-99"}`, nil)
	sid, _, _ := strings.Cut(sess.Token, ".")
	eg.needles = append(eg.needles, sid, "amber chandelier", "Premudraya", "9037778899", "777-88-99")
	eg.settle()

	o := eg.offers("anna", annaToken)
	if len(o.Offers) != 6 {
		eg.t.Fatalf("anna was offered %d leads, want 6 (one per channel): %+v", len(o.Offers), o.Offers)
	}
	for _, c := range o.Offers {
		id := strconv.FormatInt(c.ID, 10)
		eg.must(200, "POST", "/api/v1/conversations/"+id+"/accept", annaToken, "", "", nil)
		if c.Channel == channels.Form {
			eg.must(200, "POST", "/api/v1/conversations/"+id+"/contacted", annaToken, "", "", nil)
		} else {
			text := "Dear customer, your private offer code is SECRET-REPLY-" + id
			eg.must(http.StatusAccepted, "POST", "/api/v1/conversations/"+id+"/messages", annaToken, "application/json",
				fmt.Sprintf(`{"text": %q}`, text), nil)
			eg.needles = append(eg.needles, "SECRET-REPLY-"+id)
		}
		eg.convs = append(eg.convs, c.ID)
	}
	eg.settle()
	if hits := eg.scan(); len(hits) == 0 {
		eg.t.Fatal("the scan finds nothing before erasure: it would prove nothing after")
	}
}

// webchat posts body to a website chat endpoint as the widget on the site does; it must be
// answered 2xx.
func (eg *eraseGateway) webchat(path, token, body string, v any) {
	eg.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, eg.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", eraseWebChatOrigin)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := eg.srv.Client().Do(req)
	if err != nil {
		eg.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		eg.t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			eg.t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// scan returns where the personal data written by writeLeads is found under the prefix
// (see redistest.Find: every key name, value, member and stream entry field).
func (eg *eraseGateway) scan() []string {
	eg.t.Helper()
	hits, err := redistest.Find(eg.ctx, eg.g.Conn.Client, eg.g.Conn.Keys.Prefix, eg.needles)
	if err != nil {
		eg.t.Fatal(err)
	}
	return hits
}

// Erasure on request (DELETE /api/v1/conversations/{id}) leaves no personal data under the
// prefix: not in the conversations, not in the stream entries that trimming keeps (the
// newest entry of a stream is never trimmed), not in dead letters, not in per-contact keys.
func TestEraseLeavesNoPersonalData(t *testing.T) {
	eg := newEraseGateway(t)
	eg.writeLeads()
	for _, id := range eg.convs {
		eg.must(http.StatusNoContent, "DELETE", "/api/v1/conversations/"+strconv.FormatInt(id, 10), eraseSupervisorToken, "", "", nil)
	}
	eg.settle()
	if hits := eg.scan(); len(hits) != 0 {
		t.Fatalf("personal data left after erasure:\n%s", strings.Join(hits, "\n"))
	}
}

// Retention (router.retention after closing, on the gateway's clock) leaves no personal data either.
func TestRetentionLeavesNoPersonalData(t *testing.T) {
	eg := newEraseGateway(t)
	eg.writeLeads()
	for _, id := range eg.convs {
		eg.must(200, "POST", "/api/v1/conversations/"+strconv.FormatInt(id, 10)+"/close", annaToken, "", "", nil)
	}
	eg.settle()
	eg.clock.Advance(30*24*time.Hour - time.Minute)
	eg.settle()
	if n := eg.g.Conn.Client.Exists(eg.ctx, eg.g.Conn.Keys.Core("conv", strconv.FormatInt(eg.convs[0], 10))).Val(); n != 1 {
		t.Fatal("a closed conversation was deleted before its retention ran out")
	}
	eg.clock.Advance(2 * time.Minute)
	eg.settle()
	if hits := eg.scan(); len(hits) != 0 {
		t.Fatalf("personal data left after retention:\n%s", strings.Join(hits, "\n"))
	}
}

// Erasure of a person by phone, e-mail or channel contact (DELETE /api/v1/contacts...), after
// an export that finds them, leaves no personal data under the prefix either.
func TestEraseByContactLeavesNoPersonalData(t *testing.T) {
	eg := newEraseGateway(t)
	eg.writeLeads()
	// by phone: the web-form lead and the linked-device WhatsApp lead
	for _, phone := range []string{"%2B79161234567", "%2B79035556677"} {
		var x router.ContactExport
		eg.must(http.StatusOK, "GET", "/api/v1/contacts/export?phone="+phone, eraseSupervisorToken, "", "", &x)
		if len(x.Conversations) != 1 || len(x.Conversations[0].Transcript) == 0 {
			t.Fatalf("export by phone %s: %+v", phone, x)
		}
		eg.must(http.StatusForbidden, "DELETE", "/api/v1/contacts?phone="+phone, annaToken, "", "", nil)
		eg.must(http.StatusOK, "DELETE", "/api/v1/contacts?phone="+phone, eraseSupervisorToken, "", "", nil)
		eg.must(http.StatusNotFound, "GET", "/api/v1/contacts/export?phone="+phone, eraseSupervisorToken, "", "", nil)
	}
	// the form lead's e-mail index went with it
	eg.must(http.StatusNotFound, "GET", "/api/v1/contacts/export?email=Ivan.Petrovsky%40example.com", eraseSupervisorToken, "", "", nil)
	// the rest by channel contact
	for _, id := range eg.convs {
		var c struct{ Conversation router.Conversation }
		if eg.call("GET", "/api/v1/conversations/"+strconv.FormatInt(id, 10), eraseSupervisorToken, "", "", &c) == http.StatusNotFound {
			continue // erased by phone above
		}
		cv := c.Conversation
		eg.must(http.StatusOK, "DELETE", "/api/v1/contacts/"+cv.Channel+"/"+cv.ContactID+"?account="+cv.Account, eraseSupervisorToken, "", "", nil)
	}
	eg.settle()
	if hits := eg.scan(); len(hits) != 0 {
		t.Fatalf("personal data left after erasure by contact:\n%s", strings.Join(hits, "\n"))
	}
}
