# Settings inherited from parent locations, PingOneConsent Off, and a
# revocation at PingOne taking effect on the next request.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 9;
sim_reset();

my $r = req('/inherit/sub/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'inherited application and scopes: alice -> 200');
$r = req('/inherit/sub/index.html', user => $U{carol});
ok t_cmp($r->{status}, 403, 'inherited scopes: carol lacks profile -> 403');
sim(POST => '/__control/reset-counts');
$r = req('/inherit/sub/off/index.html', user => $U{bob});
ok t_cmp($r->{status}, 200, 'PingOneConsent Off below: bob -> 200');
ok t_cmp(counts()->{consents}, 0, 'Off: PingOne not asked');
$r = req('/inherit/index.html', user => $U{bob});
ok t_cmp($r->{status}, 200, 'application set but PingOneConsent not On: no check');

# Revoke at PingOne (as the user would in their account page).
$r = req('/consent/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'alice allowed before the revoke');
my $res = sim(POST => '/__control/revoke', {user_id => $U{alice}, application_id => $PCTest::APP1});
ok t_cmp($res->{revoked}, 1, 'simulator revoked one consent');
$r = req('/consent/index.html', user => $U{alice});
ok t_cmp($r->{status}, 403, 'alice denied right after the revoke');
sim(POST => '/__control/consents', {user_id => $U{alice}, application_id => $PCTest::APP1,
                                    scope => ['openid', 'profile']});
$r = req('/consent/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'consent granted again -> 200');
