// Package multipart sends one outbound message that a channel's size limit cuts into
// several parts (Telegram, Instagram, WhatsApp Cloud): Split cuts the text, Send sends the
// parts in order and keeps its progress in Redis so a retry resumes where it failed.
package multipart

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// progressTTL keeps the progress of a multi-part send long enough for every retry.
const progressTTL = 7 * 24 * time.Hour

// Send sends n parts of one outbound message in order with send(i), which returns the
// channel message id of part i. Progress is kept in Redis under key, so a retry after a
// failure in the middle resumes with the first unsent part instead of repeating the others.
// It returns the id of the first part (used to match delivery statuses).
func Send(ctx context.Context, rdb redis.UniversalClient, key string, n int, send func(i int) (string, error)) (string, error) {
	done, first := 0, ""
	if n > 1 {
		prog, err := rdb.HGetAll(ctx, key).Result()
		if err != nil {
			return "", fmt.Errorf("read send progress: %w", err)
		}
		done, _ = strconv.Atoi(prog["n"])
		first = prog["first"]
	}
	for i := done; i < n; i++ {
		id, err := send(i)
		if err != nil {
			return first, err
		}
		if first == "" {
			first = id
		}
		if n > 1 {
			pipe := rdb.TxPipeline()
			pipe.HSet(ctx, key, "n", i+1, "first", first)
			pipe.Expire(ctx, key, progressTTL)
			if _, err := pipe.Exec(ctx); err != nil {
				return first, fmt.Errorf("record send progress: %w", err)
			}
		}
	}
	return first, nil
}

// Split cuts text into pieces of at most max bytes (UTF-8, never inside a rune), preferring
// to break after a newline, then after a space, in the second half of a piece.
func Split(text string, max int) []string {
	if max <= 0 || len(text) <= max {
		if text == "" {
			return nil
		}
		return []string{text}
	}
	var out []string
	for len(text) > max {
		cut := max
		for cut > 0 && !isRuneStart(text[cut]) {
			cut--
		}
		best := -1
		for i := cut - 1; i >= cut/2; i-- {
			if text[i] == '\n' {
				best = i + 1
				break
			}
		}
		if best < 0 {
			for i := cut - 1; i >= cut/2; i-- {
				if text[i] == ' ' {
					best = i + 1
					break
				}
			}
		}
		if best > 0 {
			cut = best
		}
		if cut == 0 { // max smaller than one rune: take the rune anyway
			cut = 1
			for cut < len(text) && !isRuneStart(text[cut]) {
				cut++
			}
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
