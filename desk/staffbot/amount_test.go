package staffbot

import "testing"

// TestAmounts: won amounts as managers type them, and as the bot writes them back.
func TestAmounts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
		ru   string
		en   string
	}{
		{"150000", 150000, true, "150 000", "150,000"},
		{"150 000", 150000, true, "150 000", "150,000"},
		{"150 000,50", 150000.5, true, "150 000,50", "150,000.50"},
		{"150\u00a0000.05", 150000.05, true, "150 000,05", "150,000.05"},
		{"999", 999, true, "999", "999"},
		{"0", 0, true, "0", "0"},
		{"1 234 567", 1234567, true, "1 234 567", "1,234,567"},
		{"сто тысяч", 0, false, "", ""},
		{"-5", 0, false, "", ""},
		{"1e400", 0, false, "", ""},
		{"NaN", 0, false, "", ""},
	} {
		got, ok := parseAmount(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseAmount(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if s := formatAmount("ru", got); s != tc.ru {
			t.Errorf("formatAmount(ru, %v) = %q, want %q", got, s, tc.ru)
		}
		if s := formatAmount("en", got); s != tc.en {
			t.Errorf("formatAmount(en, %v) = %q, want %q", got, s, tc.en)
		}
	}
}
