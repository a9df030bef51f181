# mod_auth_openidc in front, as in the README: it authenticates the request
# (here as an OAuth 2.0 resource server: the bearer token is introspected
# at the HTTPS simulator) and exports the token's sub claim as OIDC_CLAIM_sub;
# `PingOneConsentUserFrom env:OIDC_CLAIM_sub` takes the PingOne user ID
# from there.  make test installs libapache2-mod-auth-openidc.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 14, need_module('auth_openidc');
sim_reset();
sim_tls(POST => '/__control/reset');

my %tok;
for my $who (qw(alice bob carol)) {
    $tok{$who} = "openidc-test-token-$who-0123456789";
    sim_tls(POST => '/__control/introspect-tokens', {
        token => $tok{$who}, active => JSON::PP::true, sub => $U{$who},
        scope => 'openid profile', client_id => 'c0ffee00-1111-4222-8333-444455556666',
        exp => time() + 3600});
}
sub bearer { my ($who) = @_; req('/openidc/index.html', headers => {Authorization => "Bearer $tok{$who}"}) }

# A working worker token first (the reset forgot the simulator's tokens, so
# the first consent call would be a 401 and a retry).
req('/consent/index.html', user => $U{alice});
sim(POST => '/__control/reset-counts');
sim_tls(POST => '/__control/reset-counts');
my $m = decision_mark();
my $r = bearer('alice');
ok t_cmp($r->{status}, 200, 'alice (token introspected by mod_auth_openidc, consent openid profile) -> 200');
ok t_cmp($r->{headers}{'x-pc-user'}, $U{alice}, 'PINGONE_USER_ID is the sub claim');
ok t_cmp($r->{headers}{'x-pc-scopes'}, qr/\bprofile\b/, 'the consent is exported');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 200 allow .*sub=\Q$U{alice}\E /, 'decision log: allow, OIDC_CLAIM_sub set by mod_auth_openidc');
ok t_cmp(sim_tls(GET => '/__control/counts')->{introspect}, 1, 'mod_auth_openidc introspected the token');
ok t_cmp(counts()->{consents}, 1, 'and the module asked PingOne for the consent');

$m = decision_mark();
$r = bearer('bob');
ok t_cmp($r->{status}, 403, 'bob (consent revoked) -> 403');
ok t_cmp($r->{headers}{'www-authenticate'}, undef, 'no Bearer challenge on a consent deny');
($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:revoked /, 'note deny:revoked');

$m = decision_mark();
$r = bearer('carol');
ok t_cmp($r->{status}, 403, 'carol (no profile scope) -> 403');
($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:scope:profile /, 'note deny:scope:profile');

# No or an unknown token: mod_auth_openidc answers, the consent check does not run.
sim(POST => '/__control/reset-counts');
$r = req('/openidc/index.html');
ok t_cmp($r->{status}, 401, 'no token -> 401 from mod_auth_openidc');
$r = req('/openidc/index.html', headers => {Authorization => 'Bearer not-a-known-token'});
ok t_cmp($r->{status}, 401, 'inactive token -> 401');
ok t_cmp(counts()->{consents}, 0, 'no consent lookup without an authenticated user');
