# PingOneConsentUserFrom env:NAME (as with mod_auth_openidc's
# OIDC_CLAIM_sub), with and without an authentication pass.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 11;
sim_reset();

# Basic auth as frank (no consent); the identity checked is the variable.
my $r = req('/envuser/index.html', user => $U{frank}, headers => {'X-Test-Sub' => $U{alice}});
ok t_cmp($r->{status}, 200, 'env user alice -> 200 although REMOTE_USER is frank');
ok t_cmp($r->{headers}{'x-pc-user'}, $U{alice}, 'PINGONE_USER_ID from the variable');
$r = req('/envuser/index.html', user => $U{alice}, headers => {'X-Test-Sub' => $U{bob}});
ok t_cmp($r->{status}, 403, 'env user bob (revoked) -> 403');

my $m = decision_mark();
$r = req('/envuser/index.html', user => $U{alice});
ok t_cmp($r->{status}, 403, 'authenticated but the variable is missing -> 403');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:no-user-id /, 'note deny:no-user-id');

$r = req('/envuser/index.html');
ok t_cmp($r->{status}, 401, 'nobody authenticated -> 401, the check does not run');

# Require all granted: no authentication pass, the check still runs.
$r = req('/envonly/index.html', headers => {'X-Test-Sub' => $U{alice}});
ok t_cmp($r->{status}, 200, 'envonly: alice -> 200');
$r = req('/envonly/index.html', headers => {'X-Test-Sub' => $U{bob}});
ok t_cmp($r->{status}, 403, 'envonly: bob -> 403');
# No identity at all where PingOneConsent is On: refused, never served
# (issue 12, item 2).
sim(POST => '/__control/reset-counts');
$m = decision_mark();
$r = req('/envonly/index.html');
ok t_cmp($r->{status}, 403, 'envonly: no user at all -> 403');
($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:no-user-id /, 'note deny:no-user-id');
ok t_cmp(counts()->{consents}, 0, 'and PingOne is not asked');
