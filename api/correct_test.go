package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/lidorub/lidorub/router"
)

// fieldErr is a 422 body naming the field.
type fieldErr struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func TestCorrectContact(t *testing.T) {
	e := newEnv(t)
	e.online(annaTok, "anna")
	e.customer(custContact, custName, custText)
	id := e.offeredTo(annaTok, "anna")
	path := "/api/v1/contacts/telegram/" + custContact + "?account=shop"

	// before anna holds it, and for boris at any time: exactly the answer for no such contact
	missing := e.as(veraTok, "PATCH", "/api/v1/contacts/telegram/nobody?account=shop", `{"name": "X"}`)
	if missing.status != http.StatusNotFound || missing.errMsg(t) != "no such contact" {
		t.Fatalf("missing contact: %s", missing)
	}
	check404 := func(tok, what, p string) {
		t.Helper()
		r := e.as(tok, "PATCH", p, `{"phone": "+79037654321"}`)
		if r.status != missing.status || !bytes.Equal(r.body, missing.body) {
			t.Errorf("%s: %s, want exactly %s", what, r, missing)
		}
		noPersonalData(t, what, r)
	}
	check404(annaTok, "anna before accepting", path)
	e.action(annaTok, id, "accept", "")
	check404(borisTok, "boris on anna's lead", path)
	check404(veraTok, "another account", "/api/v1/contacts/telegram/"+custContact+"?account=other")

	for _, c := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"phone": "+7 916"}`, 422, "phone"},
		{`{"phone": "not a number"}`, 422, "phone"},
		{`{"email": "zina@"}`, 422, "email"},
		{`{"name": "Zina", "email": "two@@example.com"}`, 422, "email"},
		{`{"phone": 79161234567}`, 422, "phone"},
		{`{"surname": "Petrova"}`, 422, "surname"},
		{`{"name": "Zina", "address": "Moscow"}`, 422, "address"},
	} {
		r := e.as(annaTok, "PATCH", path, c.body)
		var fe fieldErr
		if r.status != c.status || json.Unmarshal(r.body, &fe) != nil || fe.Field != c.field || fe.Error == "" {
			t.Errorf("%s: %s, want %d naming %q", c.body, r, c.status, c.field)
		}
		noPersonalData(t, c.body, r)
	}
	for _, c := range []struct{ path, body string }{
		{"/api/v1/contacts/telegram/" + custContact, `{"name": "Zina"}`}, // no account
		{path, `{"name": "Zina"`},
		{path, `[]`},
	} {
		if r := e.as(annaTok, "PATCH", c.path, c.body); r.status != http.StatusBadRequest {
			t.Errorf("%s %s: %s, want 400", c.path, c.body, r)
		}
	}
	if r := e.as(annaTok, "PATCH", path, `{}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("empty correction: %s, want 422", r)
	}
	if c := e.conv(annaTok, id); c.Conversation.Name != custName || c.Conversation.Phone != "" {
		t.Fatalf("a refused correction changed the contact: %+v", c.Conversation)
	}

	var got struct {
		Conversations []int64  `json:"conversations"`
		Fields        []string `json:"fields"`
	}
	e.ok(annaTok, "PATCH", path, `{"name": "Zinaida Petrova", "phone": "+7 (903) 765-43-21"}`, 200, &got)
	if len(got.Conversations) != 1 || got.Conversations[0] != id || len(got.Fields) != 2 {
		t.Fatalf("answer %+v", got)
	}
	c := e.conv(annaTok, id)
	if c.Conversation.Name != "Zinaida Petrova" || c.Conversation.Phone != "+79037654321" {
		t.Fatalf("after the correction: %+v", c.Conversation)
	}
	var notes int
	for _, m := range c.Transcript {
		if m.Kind == "note" && m.ManagerID == "anna" {
			notes++
			if bytes.Contains([]byte(m.Text), []byte("Secretova")) {
				t.Errorf("the note keeps the old name: %+v", m)
			}
		}
	}
	if notes != 2 {
		t.Fatalf("%d correction notes on the transcript, want 2: %+v", notes, c.Transcript)
	}
	// a supervisor may correct any contact
	e.ok(veraTok, "PATCH", path, `{"email": "zina@example.com"}`, 200, &got)
	if c := e.conv(veraTok, id); c.Conversation.Email != "zina@example.com" || c.Conversation.State != router.StateAssigned {
		t.Fatalf("after the supervisor's correction: %+v", c.Conversation)
	}
}
