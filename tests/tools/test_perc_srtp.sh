#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-srtp as a user meets it: outputs, exit statuses and reasons.
# usage: test_perc_srtp.sh PERC_SRTP VECTORS_DIR
set -u
B=$1 V=$2
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# value KEY from section SECTION of a vector file
vec() { awk -v s="[$2]" -v k="$3" '$0==s{on=1;next} /^\[/{on=0} on && $1==k {print $3}' "$V/$1"; }
expect() { # expect RC WANT_STDOUT WANT_STDERR_SUBSTRING -- cmd...
	local rc=$1 out=$2 err=$3; shift 4
	local o e r
	o=$("$@" 2>/tmp/perc-srtp-err.$$); r=$?; e=$(cat /tmp/perc-srtp-err.$$)
	if [ "$r" != "$rc" ]; then bad "rc $r (want $rc): $* :: $e"; return; fi
	if [ -n "$out" ] && [ "$o" != "$out" ]; then bad "stdout '$o' (want '$out'): $*"; return; fi
	if [ -n "$err" ] && [[ "$e" != *"$err"* ]]; then bad "stderr '$e' lacks '$err': $*"; return; fi
	ok
}

D=perc_double.txt
for c in "case 1 DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM" "case 2 DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM" "case 3 DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM"; do
	P=${c##* }
	mk=$(vec $D "$c" master_key) ms=$(vec $D "$c" master_salt)
	plain=$(vec $D "$c" plain) prot=$(vec $D "$c" protected) rel=$(vec $D "$c" relayed)
	ik=$(vec $D "$c" relay_in_key) is=$(vec $D "$c" relay_in_salt)
	ok_=$(vec $D "$c" relay_out_key) os=$(vec $D "$c" relay_out_salt)
	chg=()
	for f in pt seq marker; do
		x=$(vec $D "$c" relay_set_$f); [ "$x" != "-" ] && chg+=(--$f "$x")
	done
	expect 0 "$prot" "" -- "$B" protect --profile "$P" --key "$mk" --salt "$ms" "$plain"
	expect 0 "$plain" "" -- "$B" unprotect --profile "$P" --key "$mk" --salt "$ms" "$prot"
	expect 0 "$rel" "" -- "$B" relay --profile "$P" --in-key "$ik" --in-salt "$is" \
		--out-key "$ok_" --out-salt "$os" "${chg[@]}" "$prot"
	# a trailing EKT field (short and full) passes through the relay unchanged
	full=$(vec ekt.txt "full field 16-byte key" field)
	expect 0 "${rel}00" "ekt-field: 00" -- "$B" relay --profile "$P" --in-key "$ik" --in-salt "$is" \
		--out-key "$ok_" --out-salt "$os" "${chg[@]}" "${prot}00"
	expect 0 "${rel}${full}" "ekt-field: $full" -- "$B" relay --profile "$P" --in-key "$ik" \
		--in-salt "$is" --out-key "$ok_" --out-salt "$os" "${chg[@]}" "${prot}${full}"
	expect 0 "${prot}${full}" "" -- "$B" protect --profile "$P" --key "$mk" --salt "$ms" --ekt "$full" "$plain"
	expect 0 "$plain" "ekt-field: $full" -- "$B" unprotect --profile "$P" --key "$mk" --salt "$ms" "${prot}${full}"
	# a flipped bit in the outer tag: auth, exit 1
	last=${prot: -2}; flip=$(printf '%02x' $(( 0x$last ^ 1 )))
	expect 1 "" "auth" -- "$B" unprotect --profile "$P" --key "$mk" --salt "$ms" "${prot%??}$flip"
	expect 1 "" "auth" -- "$B" relay --profile "$P" --in-key "$ok_" --in-salt "$os" \
		--out-key "$ik" --out-salt "$is" "$prot"
done

# RFC 7714 takes session keys; the CLI takes master keys, so round-trip it
K=000102030405060708090a0b0c0d0e0f S=517569642070726f2071756f
P7=$(vec rfc7714.txt "AES-128-GCM rtp-enc" plain)
for prof in SRTP_AES128_CM_HMAC_SHA1_80 SRTP_AES128_CM_HMAC_SHA1_32 SRTP_AEAD_AES_128_GCM; do
	salt=$S; [[ $prof == *_CM_* ]] && salt=${S}0000
	c=$("$B" protect --profile $prof --key $K --salt $salt --roc 3 "$P7")
	expect 0 "$P7" "" -- "$B" unprotect --profile $prof --key $K --salt $salt --roc 3 "$c"
	expect 1 "" "auth" -- "$B" unprotect --profile $prof --key $K --salt $salt --roc 4 "$c"
	expect 0 "$c" "" -- "$B" protect --profile $prof --key $K --salt $salt --roc 3 --arch libsrtp "$P7"
	R=$(vec rfc7714.txt "AES-128-GCM rtcp-enc" plain)
	c=$("$B" protect --rtcp --index 1492 --profile $prof --key $K --salt $salt "$R")
	expect 0 "$R" "" -- "$B" unprotect --rtcp --profile $prof --key $K --salt $salt "$c"
done
expect 1 "" "malformed" -- "$B" unprotect --profile SRTP_AEAD_AES_128_GCM --key $K --salt $S 8000
expect 1 "" "malformed" -- "$B" unprotect --profile SRTP_AEAD_AES_128_GCM --key $K --salt $S 4000000000000000000000000000000000000000000000000000000000
expect 2 "" "--salt must be 12 bytes" -- "$B" protect --profile SRTP_AEAD_AES_128_GCM --key $K --salt 00 "$P7"
expect 2 "" "unknown profile" -- "$B" protect --profile NOPE --key $K --salt $S "$P7"
expect 2 "" "hex" -- "$B" protect --profile SRTP_AEAD_AES_128_GCM --key $K --salt $S zz
expect 2 "" "needs --index" -- "$B" protect --rtcp --profile SRTP_AEAD_AES_128_GCM --key $K --salt $S "$P7"
expect 2 "" "unknown command" -- "$B" frobnicate
expect 2 "" "no command" -- "$B"
expect 0 "" "" -- "$B" --help

# EKT
for s in "full field 16-byte key" "full field 32-byte key"; do
	ek=$(vec ekt.txt "$s" ekt_key) f=$(vec ekt.txt "$s" field)
	expect 0 "$f" "" -- "$B" ekt-wrap --ekt-key "$ek" --spi "$(vec ekt.txt "$s" spi)" \
		--epoch "$(vec ekt.txt "$s" epoch)" --ssrc "$(vec ekt.txt "$s" ssrc)" \
		--roc "$(vec ekt.txt "$s" roc)" --key "$(vec ekt.txt "$s" srtp_master_key)"
	o=$("$B" ekt-unwrap --ekt-key "$ek" "$f")
	[[ $o == *"\"key\": \"$(vec ekt.txt "$s" srtp_master_key)\""* && $o == *"\"spi\": $(vec ekt.txt "$s" spi),"* ]] && ok || bad "ekt-unwrap JSON: $o"
	expect 1 "" "auth" -- "$B" ekt-unwrap --ekt-key 000102030405060708090a0b0c0d0e0f "$f"
done
expect 1 "" "ekt" -- "$B" ekt-unwrap --ekt-key 000102030405060708090a0b0c0d0e0f 0001
expect 0 "" "" -- "$B" selftest

rm -f /tmp/perc-srtp-err.$$
echo "perc-srtp: $pass passed, $fail failed"
[ $fail -eq 0 ]
