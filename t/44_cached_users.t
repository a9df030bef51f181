# What a cache entry may decide (issue 12, items 9 and 10), on a server of
# its own: a cached username -> ID mapping goes with its user (a USER.DELETED
# or USER.DISABLED delivery, an admin purge of the ID), so a username given
# to someone else resolves anew; user IDs key the cache in one case, so a
# purge by ID reaches a user named in capitals; and an entry cached under a
# long TTL is fresh no longer than the TTL configured now (lowered across a
# graceful restart, which keeps the local table).
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use Time::HiRes qw(sleep time);

# (a server of its own, event MPM: run once, in the event pass)
plan tests => 17, need_apache_mpm('event');
sim_reset();

my $hook_auth = 'Bearer t44-hook-secret-0123456789';
my $srv = extra_server(name => 't44', modules => ['alias', 'authz_host'], conf => <<"EOC");
PingOneConsentCacheTTL 60 10
Alias /byname "@{[serverroot()]}/htdocs"
Alias /byid "@{[serverroot()]}/htdocs"
<Location />
    Require all granted
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
    Header always set X-PC-User "%{PINGONE_USER_ID}e"
    Header always set X-PC-Source "%{PINGONE_CONSENT_SOURCE}e"
</Location>
<Location /byname>
    PingOneConsent On
    PingOneConsentUserIs username
</Location>
<Location /byid>
    PingOneConsent On
</Location>
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "$hook_auth"
</Location>
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require ip 127.0.0.1
</Location>
EOC

sub by_name { $srv->{get}->('/byname/index.html', $_[0]) }
sub by_id { $srv->{get}->('/byid/index.html', $_[0]) }
sub user_of { $_[0]{headers}{'x-pc-user'} // '' }
sub src_of { $_[0]{headers}{'x-pc-source'} // '' }
sub deliver {
    my ($type, $user) = @_;
    return sim(POST => '/__control/webhook', {
        url => "http://127.0.0.1:$srv->{port}/pingone/webhook",
        headers => {Authorization => $hook_auth},
        events => [{type => $type, user_id => $user, application_id => $PCTest::APP1}]});
}
sub user { sim(POST => '/__control/users', {id => $_[0], username => $_[1], enabled => $_[2] // JSON::PP::true}) }
sub consent { sim(POST => '/__control/consents', {user_id => $_[0], application_id => $PCTest::APP1, scope => ['openid']}) }
sub id { sprintf 'e4400000-0000-4000-8000-%012d', $_[0] }

# A username whose mapping is cached, then given to another user ID.
sub mapped {
    my ($name, $old) = @_;
    user($old, $name);
    consent($old);
    by_name($name);
    return by_name($name);
}

# ---- item 9: USER.DELETED ------------------------------------------------
my ($x, $y) = (id(1), id(2));
my $r = mapped('t44-zed', $x);
ok t_cmp([user_of($r), src_of($r)], [$x, 'cache'], "t44-zed is $x, cached");
sim(DELETE => "/__control/users/$x");
user($y, 't44-zed');
consent($y);
ok t_cmp(deliver('USER.DELETED', $x)->{status}, 200, 'USER.DELETED delivered');
$r = by_name('t44-zed');
ok t_cmp([$r->{status}, user_of($r)], [200, $y], 'the name is resolved anew: the new owner');

# ---- item 9: USER.DISABLED -----------------------------------------------
my ($p, $q) = (id(3), id(4));
$r = mapped('t44-pat', $p);
ok t_cmp([user_of($r), src_of($r)], [$p, 'cache'], "t44-pat is $p, cached");
user($p, 't44-pat-old', JSON::PP::false);
user($q, 't44-pat');
consent($q);
ok t_cmp(deliver('USER.DISABLED', $p)->{status}, 200, 'USER.DISABLED delivered');
$r = by_name('t44-pat');
ok t_cmp([$r->{status}, user_of($r)], [200, $q], 'the name is resolved anew: the new owner');

# ---- item 9: admin purge of the ID ---------------------------------------
my ($rob, $sam) = (id(5), id(6));
$r = mapped('t44-rob', $rob);
ok t_cmp([user_of($r), src_of($r)], [$rob, 'cache'], "t44-rob is $rob, cached");
user($rob, 't44-rob-old');
user($sam, 't44-rob');
consent($sam);
$r = by_name('t44-rob');
ok t_cmp(user_of($r), $rob, 'until purged, the cached mapping decides (TTL 60)');
ok t_cmp($srv->{admin}->('/pingone/admin', {action => 'purge-user', user => $rob})->{status}, 200,
         'admin purge-user of the old ID');
$r = by_name('t44-rob');
ok t_cmp([$r->{status}, user_of($r)], [200, $sam], 'the name is resolved anew: the new owner');

# ---- item 9: an ID in capitals is the same user --------------------------
my $caps = id(7);
consent($caps);
by_id(uc $caps);
$r = by_id(uc $caps);
ok t_cmp([$r->{status}, src_of($r)], [200, 'cache'], 'a user ID in capitals: allowed, cached');
ok t_cmp(user_of($r), $caps, 'PINGONE_USER_ID is the ID in its canonical (lowercase) form');
sim(POST => '/__control/revoke', {user_id => $caps, application_id => $PCTest::APP1});
ok t_cmp(deliver('OAUTH_CONSENT.REVOKED', $caps)->{status}, 200, 'revoke delivered (lowercase ID)');
ok t_cmp(by_id(uc $caps)->{status}, 403, 'the purge reached the entry made for the ID in capitals');

# ---- item 10: TTL lowered across a graceful restart ----------------------
my $t = id(8);
consent($t);
by_id($t);
my $fetched = time;
ok t_cmp(src_of(by_id($t)), 'cache', 'cached under PingOneConsentCacheTTL 60');
my $conf = "$srv->{dir}/httpd.conf";
my $text = do { local (@ARGV, $/) = $conf; <> };
$text =~ s/^PingOneConsentCacheTTL 60 10$/PingOneConsentCacheTTL 2 2/m or die "no TTL line\n";
open my $fh, '>', $conf or die "$conf: $!";
print $fh $text;
close $fh;
my $gens = () = $srv->{error_log}->() =~ /resuming normal operations/g;
system(Apache::Test::vars('httpd'), '-f', $conf, '-k', 'graceful') == 0 or die "graceful failed\n";
for (1 .. 200) {
    my $now = () = $srv->{error_log}->() =~ /resuming normal operations/g;
    last if $now > $gens;
    sleep 0.05;
}
sleep 0.1 while time - $fetched < 3;
sim(POST => '/__control/reset-counts');
$r = by_id($t);
ok t_cmp([src_of($r), counts()->{consents}], ['pingone', 1],
         'TTL now 2 s: the entry, 3 s old, is asked again');
ok t_cmp(src_of(by_id($t)), 'cache', 'and cached again');
$srv->{stop}->();
