package staffbot

import (
	"context"
	"errors"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"

	"github.com/lidorub/lidorub/router"
)

// /edit N corrects a customer's name, phone or e-mail at their request (the right to
// rectification), guided by buttons: choose the field → type the new value → confirm. The
// pending correction of a manager (lead, field, and once typed the new value) is kept in
// {P}:ch:telegram:staff:edit:<manager> for editTTL; while one waits for a value, the manager's
// next plain message (not a reply to a lead's message) is that value, not a reply to the
// customer. /cancel or the Cancel button drops it. The correction is router.Desk.CorrectContact:
// it applies to every lead of that channel contact and notes it on their transcripts.

// editTTL bounds how long a pending correction waits.
const editTTL = 15 * time.Minute

// editFields maps the field buttons' codes to the correction fields.
var editFields = map[string]string{"n": "name", "p": "phone", "m": "email"}

func (b *Bot) editKey(mgr string) string { return b.key("edit", mgr) }

// mayEdit says whether mgr may correct lead id's customer: a supervisor always, a
// lead-manager for a lead assigned to them. The lead is returned when it exists.
func (b *Bot) mayEdit(ctx context.Context, mgr string, id int64) (*router.Conversation, bool, error) {
	c, err := b.d.Desk.Conversation(ctx, id)
	if errors.Is(err, router.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if b.d.Desk.Role(mgr) == router.RoleSupervisor || (c.State == router.StateAssigned && c.ManagerID == mgr) {
		return c, true, nil
	}
	return nil, false, nil
}

// editCommand answers /edit N (or /edit alone: the active lead) with the field buttons.
func (b *Bot) editCommand(ctx context.Context, mgr string, chat int64, arg string) error {
	lang := b.langOf(mgr)
	id, err := b.leadArg(ctx, mgr, chat, lang, arg, "staff.edit.usage")
	if id == 0 || err != nil {
		return err
	}
	_, ok, err := b.mayEdit(ctx, mgr, id)
	if err != nil {
		return err
	}
	if !ok {
		b.say(ctx, chat, b.t(lang, "staff.edit.not_yours", "id", id))
		return nil
	}
	if err := b.d.Redis.Del(ctx, b.editKey(mgr)).Err(); err != nil {
		return err
	}
	c := i64(id)
	k := tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.edit.button.name"), "e:"+c+":n"),
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.edit.button.phone"), "e:"+c+":p"),
			tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.edit.button.email"), "e:"+c+":m"),
		),
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.edit.button.cancel"), "e:"+c+":c")),
	)
	if _, err := b.send(ctx, chat, 0, b.t(lang, "staff.edit.choose", "id", id), &k); err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
	}
	return nil
}

// cancelEdit answers /cancel.
func (b *Bot) cancelEdit(ctx context.Context, mgr string, chat int64) error {
	if err := b.d.Redis.Del(ctx, b.editKey(mgr)).Err(); err != nil {
		return err
	}
	b.say(ctx, chat, b.t(b.langOf(mgr), "staff.edit.cancelled"))
	return nil
}

// pendingEdit is a manager's pending correction (conv 0: none).
type pendingEdit struct {
	conv  int64
	field string
	value string
	typed bool
}

func (b *Bot) pendingEdit(ctx context.Context, mgr string) (pendingEdit, error) {
	h, err := b.d.Redis.HGetAll(ctx, b.editKey(mgr)).Result()
	if err != nil || len(h) == 0 {
		return pendingEdit{}, err
	}
	id, _ := strconv.ParseInt(h["conv"], 10, 64)
	v, typed := h["value"]
	return pendingEdit{conv: id, field: h["field"], value: v, typed: typed}, nil
}

// editInput takes a manager's plain message as the new value of their pending correction;
// it reports false when none waits for a value.
func (b *Bot) editInput(ctx context.Context, mgr string, chat int64, text string) (bool, error) {
	p, err := b.pendingEdit(ctx, mgr)
	if err != nil || p.conv == 0 || p.field == "" {
		return false, err
	}
	lang := b.langOf(mgr)
	corr := correction(p.field, text)
	norm, err := corr.Normalize()
	if err != nil {
		b.say(ctx, chat, b.t(lang, "staff.edit.invalid."+p.field))
		return true, nil
	}
	value := fieldValue(norm, p.field)
	pipe := b.d.Redis.TxPipeline()
	pipe.HSet(ctx, b.editKey(mgr), "value", value)
	pipe.Expire(ctx, b.editKey(mgr), editTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return true, err
	}
	c := i64(p.conv)
	k := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.edit.button.confirm"), "e:"+c+":y"),
		tgbotapi.NewInlineKeyboardButtonData(b.t(lang, "staff.edit.button.cancel"), "e:"+c+":c"),
	))
	text = b.t(lang, "staff.edit.confirm", "id", p.conv, "field", b.t(lang, "contact.field."+p.field), "value", value)
	if _, err := b.send(ctx, chat, 0, text, &k); err != nil {
		b.d.Log.Warn("staffbot: answer not delivered", "chat", chat, "err", err)
	}
	return true, nil
}

func correction(field, v string) router.ContactCorrection {
	switch field {
	case "name":
		return router.ContactCorrection{Name: &v}
	case "phone":
		return router.ContactCorrection{Phone: &v}
	default:
		return router.ContactCorrection{Email: &v}
	}
}

func fieldValue(c router.ContactCorrection, field string) string {
	for f, p := range map[string]*string{"name": c.Name, "phone": c.Phone, "email": c.Email} {
		if f == field && p != nil {
			return *p
		}
	}
	return ""
}

// editButton handles the /edit buttons: e:<id>:n|p|m (field), e:<id>:y (save), e:<id>:c (cancel).
func (b *Bot) editButton(ctx context.Context, q *tgbotapi.CallbackQuery, mgr string, id int64, code string) error {
	lang := b.langOf(mgr)
	chat := int64(0)
	if q.Message != nil && q.Message.Chat != nil {
		chat = q.Message.Chat.ID
	}
	key := b.editKey(mgr)
	switch code {
	case "c":
		if err := b.d.Redis.Del(ctx, key).Err(); err != nil {
			return err
		}
		b.answer(ctx, q, b.t(lang, "staff.edit.cancelled"))
		b.dropButtons(ctx, q)
		return nil
	case "y":
		p, err := b.pendingEdit(ctx, mgr)
		if err != nil {
			return err
		}
		if p.conv != id || !p.typed {
			b.answer(ctx, q, b.t(lang, "staff.edit.expired"))
			b.dropButtons(ctx, q)
			return nil
		}
		c, ok, err := b.mayEdit(ctx, mgr, id)
		if err != nil {
			return err
		}
		if ok {
			ref := router.ContactRef{Channel: c.Channel, Account: c.Account, ContactID: c.ContactID}
			_, err = b.d.Desk.CorrectContact(ctx, ref, mgr, correction(p.field, p.value))
		}
		switch {
		case !ok, errors.Is(err, router.ErrNotFound), errors.Is(err, router.ErrInvalid):
			b.answer(ctx, q, b.t(lang, "staff.edit.not_yours", "id", id))
		case err != nil:
			b.answer(ctx, q, b.t(lang, "staff.toast.error"))
			return err
		default:
			b.answer(ctx, q, "")
			if chat != 0 {
				b.say(ctx, chat, b.t(lang, "staff.edit.done", "id", id, "field", b.t(lang, "contact.field."+p.field)))
			}
		}
		b.dropButtons(ctx, q)
		return b.d.Redis.Del(ctx, key).Err()
	}
	field := editFields[code]
	if field == "" {
		b.answer(ctx, q, b.t(lang, "staff.toast.unknown_button"))
		return nil
	}
	_, ok, err := b.mayEdit(ctx, mgr, id)
	if err != nil {
		return err
	}
	if !ok {
		b.answer(ctx, q, b.t(lang, "staff.edit.not_yours", "id", id))
		b.dropButtons(ctx, q)
		return nil
	}
	pipe := b.d.Redis.TxPipeline()
	pipe.Del(ctx, key)
	pipe.HSet(ctx, key, "conv", id, "field", field)
	pipe.Expire(ctx, key, editTTL)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	b.answer(ctx, q, "")
	b.dropButtons(ctx, q)
	if chat != 0 {
		b.say(ctx, chat, b.t(lang, "staff.edit.prompt", "id", id, "field", b.t(lang, "contact.field."+field)))
	}
	return nil
}
