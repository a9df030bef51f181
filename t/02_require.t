# Require pingone-consent as an authz provider: composes with RequireAll /
# RequireAny, answers 403 (not 401) to an authenticated user, redirects
# when PingOneConsentDenyRedirect is set.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 31;
sim_reset();

my $r = req('/req-all/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'RequireAll: alice (openid profile) -> 200');
ok t_cmp($r->{headers}{'x-pc-consent-id'}, qr/^[0-9a-f-]{36}$/, 'provider exports PINGONE_CONSENT_ID');

my $m = decision_mark();
$r = req('/req-all/index.html', user => $U{carol});
ok t_cmp($r->{status}, 403, 'RequireAll: carol lacks profile -> 403, not 401');
ok t_cmp($r->{headers}{'www-authenticate'}, undef, 'no WWW-Authenticate on a consent deny');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:scope:profile /, 'note deny:scope:profile');

$r = req('/req-all/index.html', user => $U{bob});
ok t_cmp($r->{status}, 403, 'RequireAll: bob revoked -> 403');

$r = req('/req-all/index.html');
ok t_cmp($r->{status}, 401, 'RequireAll: no credentials -> 401 (authentication first)');
ok t_cmp($r->{headers}{'www-authenticate'}, qr/^Basic/, 'and the Basic challenge');

$r = req('/req-all/index.html', user => $U{alice}, pass => 'nope');
ok t_cmp($r->{status}, 401, 'RequireAll: bad password -> 401');

# RequireAny: frank has no consent but is named by a second Require line.
$r = req('/req-any/index.html', user => $U{frank});
ok t_cmp($r->{status}, 200, 'RequireAny: frank allowed by Require user');
ok t_cmp($r->{headers}{'www-authenticate'}, undef, 'no challenge for frank');
$r = req('/req-any/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'RequireAny: alice has openid+email -> 200');
$r = req('/req-any/index.html', user => $U{carol});
ok t_cmp($r->{status}, 403, 'RequireAny: carol lacks email and is not frank -> 403');

# Redirect to a local consent page, with return_to.
$r = req('/req-redirect/index.html?x=1', user => $U{carol});
ok t_cmp($r->{status}, 302, 'Require + DenyRedirect: carol -> 302');
my $loc = $r->{headers}{location} // '';
ok t_cmp($loc, qr{^http://[^/]+/consent-needed\.html\?return_to=}, 'to the configured page (absolute URL)');
ok t_cmp($loc, qr{return_to=http%3A%2F%2F[^&]*%2Freq-redirect%2Findex\.html%3Fx%3D1$}, 'return_to holds the original URL, encoded');
$r = req('/req-redirect/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'Require + DenyRedirect: alice -> 200');

# One PingOne lookup per request, even though authz_core asks twice.
sim(POST => '/__control/reset-counts');
$r = req('/req-all/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'alice again');
ok t_cmp(counts()->{consents}, 1, 'exactly one consent call for one request');

# AuthType is restored for the backend after an allowed request.
$r = req('/req-any/index.html', user => $U{frank});
ok t_cmp($r->{status}, 200, 'frank again after a deny on the same server');

# PingOne failing: a Require line cannot answer 503 itself, so the module
# runs the Require lines first; 503 only when they reach the consent line.
sim_fault(endpoint => 'consents', type => 'status', status => 503, count => -1);
sim(POST => '/__control/reset-counts');
my $lm = log_mark();
$r = req('/anyuser-first/index.html', user => $U{frank});
ok t_cmp($r->{status}, 200, 'PingOne failing, Require user before the consent line: frank -> 200');
ok t_cmp(log_since($lm, qr/PC00115/), qr/PC00115: cannot check consent for user \Q$U{frank}\E .*other Require lines decide/,
         'logged: PingOne failed, other Require lines decided');
ok t_cmp(counts()->{consents} >= 1, 1, 'the consent lookup was tried (and failed)');
$r = req('/anyuser-first/index.html', user => $U{alice});
ok t_cmp($r->{status}, 503, 'alice needs the consent line: 503');
ok t_cmp($r->{headers}{'retry-after'}, qr/^\d+$/, 'with Retry-After');
$m = decision_mark();
$r = req('/req-any/index.html', user => $U{frank});
ok t_cmp($r->{status}, 503, 'consent line first in RequireAny: evaluation stops there, frank -> 503');
($line) = decision_since($m);
ok t_cmp($line, qr/ 503 error:upstream-503 /, 'note error:upstream-503');
$r = req('/anyip-first/index.html', user => $U{alice});
ok t_cmp($r->{status}, 403, 'RequireAll denied by its first line: 403 as with PingOne up (not 503)');
$r = req('/req-all/index.html', user => $U{alice});
ok t_cmp($r->{status}, 503, 'RequireAll reaching the consent line: 503');
sim(DELETE => '/__control/faults');
$r = req('/anyuser-first/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'PingOne back: alice -> 200');
$r = req('/anyip-first/index.html', user => $U{alice});
ok t_cmp($r->{status}, 403, 'and the IP line still denies');
