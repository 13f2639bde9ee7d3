package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The customer's rights over their data (a supervisor's requests): an export of everything
// stored about a person and its erasure everywhere. A person is found through the contact
// indexes (contacts.go): a channel contact (channel, account, contact id), a phone number or
// an e-mail address. Each index keeps the newest 20 conversations; older ones have been
// retired long before (retention) in any ordinary deployment.

// Privacy is the supervisors' (and the command line's) side of the customer's rights.
// *Router implements it.
type Privacy interface {
	// ExportContact returns everything stored about the person q names.
	ExportContact(ctx context.Context, supervisorID string, q ContactQuery) (*ContactExport, error)
	// EraseContact erases every conversation of the person q names (Desk.Erase of each one:
	// the conversations, their transcripts and lead cards, the stream entries, dead letters,
	// deferred sends and channel copies holding their data) and returns their ids.
	EraseContact(ctx context.Context, supervisorID string, q ContactQuery) ([]int64, error)
}

var _ Privacy = (*Router)(nil)

// Operator is the actor of the command line (lidorub contacts export|erase), which has the
// Redis credentials and so every right anyway. It cannot be a manager id (managers[].id has
// no ':'), and it is what the audit stream records as "by".
const Operator = "cli:operator"

// ContactQuery names a person: Channel, Account and ContactID together, or Phone, or Email.
type ContactQuery struct {
	Channel   string `json:"channel,omitempty"`
	Account   string `json:"account,omitempty"`
	ContactID string `json:"contact,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Email     string `json:"email,omitempty"`
}

// ContactExport is everything stored about one person.
type ContactExport struct {
	Query         ContactQuery           `json:"query"`
	ExportedAt    time.Time              `json:"exported_at"`
	Conversations []ExportedConversation `json:"conversations"`
}

// ExportedConversation is one conversation of the person: the conversation (contact data,
// channel, source, states, qualification, times, pre-chat answers, the qualification's
// explanation, channel meta such as UTM tags), its transcript, the consent the channel
// recorded, and its timeline when the timeline is kept.
type ExportedConversation struct {
	Conversation *Conversation     `json:"conversation"`
	Transcript   []Message         `json:"transcript"`
	Consent      *Consent          `json:"consent,omitempty"`
	Timeline     []TimelineEntry   `json:"timeline,omitempty"`
	CRM          map[string]string `json:"crm,omitempty"` // CRM record ids, when a connector recorded one (meta crm_*)
}

// Consent is a consent record: the web form and the website chat store when the person
// consented to the processing of their data and under which version of the policy.
type Consent struct {
	At            time.Time `json:"at"`
	PolicyVersion string    `json:"policy_version,omitempty"`
}

// actor checks that by may act on personal data: a supervisor or the command line.
func (r *Router) actor(by string) error {
	if by == Operator {
		return nil
	}
	return r.supervisor(by)
}

// contactConvs returns the conversation ids of the person q names, oldest first.
func (r *Router) contactConvs(ctx context.Context, q ContactQuery) ([]int64, error) {
	var key string
	switch {
	case q.Phone != "":
		ps := r.b.keys.phonePseudonym(q.Phone)
		if ps == "" {
			return nil, fmt.Errorf("%w: not a valid phone number in international format", ErrInvalid)
		}
		key = r.b.keys.histPhone(ps)
	case q.Email != "":
		if !strings.Contains(q.Email, "@") {
			return nil, fmt.Errorf("%w: not an e-mail address", ErrInvalid)
		}
		key = r.b.keys.histEmail(r.b.keys.emailPseudonym(q.Email))
	case q.Channel != "" && q.Account != "" && q.ContactID != "":
		key = r.b.keys.histContact(q.Channel, q.Account, r.b.keys.contactPseudonym(q.ContactID))
	default:
		return nil, fmt.Errorf("%w: give a channel, account and contact id, or a phone, or an e-mail", ErrInvalid)
	}
	members, err := r.b.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(members))
	for _, m := range members {
		if id, err := strconv.ParseInt(m, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: nothing is stored about this person", ErrNotFound)
	}
	return ids, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = i64s(id)
	}
	return strings.Join(s, ",")
}

// ExportContact returns everything stored about a person. The export is audited (by whom,
// which conversations).
func (r *Router) ExportContact(ctx context.Context, supervisorID string, q ContactQuery) (*ContactExport, error) {
	if err := r.actor(supervisorID); err != nil {
		return nil, err
	}
	ids, err := r.contactConvs(ctx, q)
	if err != nil {
		return nil, err
	}
	x := &ContactExport{Query: q, ExportedAt: r.b.clock.Now().UTC(), Conversations: []ExportedConversation{}}
	var found []int64
	for _, id := range ids {
		c, err := r.b.conversation(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // erased or retired meanwhile
		}
		if err != nil {
			return nil, err
		}
		tr, err := r.Transcript(ctx, id, 0)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		ec := ExportedConversation{Conversation: c, Transcript: tr}
		if at, err := time.Parse(time.RFC3339Nano, c.Meta["consent_at"]); err == nil {
			ec.Consent = &Consent{At: at, PolicyVersion: c.Meta["policy_version"]}
		}
		for k, v := range c.Meta {
			if name, ok := strings.CutPrefix(k, "crm_"); ok {
				if ec.CRM == nil {
					ec.CRM = map[string]string{}
				}
				ec.CRM[name] = v
			}
		}
		if tl, err := r.Timeline(ctx, id); err == nil {
			ec.Timeline = tl
		} else if !errors.Is(err, ErrNotImplemented) && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		x.Conversations = append(x.Conversations, ec)
		found = append(found, id)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: nothing is stored about this person", ErrNotFound)
	}
	if err := r.b.audit(ctx, supervisorID, AuditExport, 0, "", "conversations="+joinIDs(found)); err != nil {
		return nil, err
	}
	return x, nil
}

// EraseContact erases every conversation of a person, each as Desk.Erase does, and returns
// their ids. Each erasure is audited.
func (r *Router) EraseContact(ctx context.Context, supervisorID string, q ContactQuery) ([]int64, error) {
	if err := r.actor(supervisorID); err != nil {
		return nil, err
	}
	ids, err := r.contactConvs(ctx, q)
	if err != nil {
		return nil, err
	}
	var erased []int64
	for _, id := range ids {
		err := r.erase(ctx, id, supervisorID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return erased, err
		}
		erased = append(erased, id)
	}
	if len(erased) == 0 {
		return nil, fmt.Errorf("%w: nothing is stored about this person", ErrNotFound)
	}
	return erased, nil
}
