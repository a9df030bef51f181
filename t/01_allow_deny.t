# PingOneConsent On: allow, every deny reason, 403 not 401, what the
# backend sees, and what happens without an authenticated user.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 41;
sim_reset();

my $m = decision_mark();
my $r = req('/consent/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'alice: ACCEPTED with openid+profile -> 200');
ok t_cmp($r->{headers}{'x-pc-status'}, 'ACCEPTED', 'PINGONE_CONSENT_STATUS');
ok t_cmp($r->{headers}{'x-pc-scopes'}, 'openid profile email', 'PINGONE_CONSENT_SCOPES, space separated');
ok t_cmp($r->{headers}{'x-pc-user'}, $U{alice}, 'PINGONE_USER_ID');
ok t_cmp($r->{headers}{'x-pc-app'}, 'Web Portal', 'PINGONE_APPLICATION_NAME');
ok t_cmp($r->{headers}{'x-pc-consent-id'}, qr/^[0-9a-f-]{36}$/, 'PINGONE_CONSENT_ID');
ok t_cmp($r->{headers}{'x-pc-source'}, 'pingone', 'PINGONE_CONSENT_SOURCE');
my ($line) = decision_since($m);
ok t_cmp($line, qr/^\Q$U{alice}\E 200 allow /, 'request note: allow');

# Each deny: status, note, no re-authentication prompt.
my @cases = (
    [bob   => 'deny:revoked',       'most recent consent REVOKED'],
    [carol => 'deny:scope:profile', 'profile scope missing'],
    [dave  => 'deny:expired',       'consent past expiresAt'],
    [erin  => 'deny:revoked',       'newer REVOKED beats older ACCEPTED'],
    [frank => 'deny:none',          'no consent at all'],
    [ghost => 'deny:unknown-user',  'PingOne does not know the user (404)'],
);
for my $c (@cases) {
    my ($who, $note, $what) = @$c;
    $m = decision_mark();
    my $lm = log_mark();
    $r = req('/consent/index.html', user => $U{$who});
    ok t_cmp($r->{status}, 403, "$who: $what -> 403");
    ok t_cmp($r->{headers}{'www-authenticate'}, undef, "$who: no WWW-Authenticate (no re-auth loop)");
    ($line) = decision_since($m);
    ok t_cmp($line, qr/ 403 \Q$note\E /, "$who: note $note");
    ok t_cmp(log_since($lm, qr/PC00110/), qr/\[pingone_consent:info\].*PC00110: consent denied for user \Q$U{$who}\E.*\Q$note\E/,
             "$who: deny logged at info with the reason");
}

# No scopes required: carol's openid-only consent is enough.
$r = req('/scopes-none/index.html', user => $U{carol});
ok t_cmp($r->{status}, 200, 'no PingOneConsentScopes: any ACCEPTED consent allows');

# A user name that is not a UUID never reaches PingOne.
sim(POST => '/__control/reset-counts');
for my $bad ('not-a-uuid', '../../etc/passwd') {
    $m = decision_mark();
    $r = req('/consent/index.html', user => $bad);
    ok t_cmp($r->{status}, 403, "user '$bad' -> 403");
    ($line) = decision_since($m);
    ok t_cmp($line, qr/ 403 deny:bad-user /, "user '$bad': note deny:bad-user");
}
ok t_cmp(counts()->{consents}, 0, 'invalid user IDs made no PingOne call');

# No credentials / wrong password: authentication answers, we do not run.
$r = req('/consent/index.html');
ok t_cmp($r->{status}, 401, 'no credentials -> 401 from mod_auth_basic');
$r = req('/consent/index.html', user => $U{alice}, pass => 'wrong');
ok t_cmp($r->{status}, 401, 'wrong password -> 401');
my $c = counts();
ok t_cmp($c->{consents} + $c->{token}, 0, 'no PingOne call without an authenticated user');
