# The activity feed (PingOneActivityPoll) on a server of its own, no
# webhook configured at PingOne: a consent revoked at the simulator is
# denied within one poll interval + the ingestion delay + 1 s; a grant
# after a deny is allowed within the same bound (and by webhook too);
# malformed and foreign-environment events change nothing and are
# counted; after a graceful restart nothing is replayed.  The server runs
# under the MPM of this run of the suite.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

plan tests => 20;
sim_reset();

my ($mpm) = do { local (@ARGV, $/) = (serverroot() . '/conf/inherit.conf'); <> } =~ /mpm_(\w+)_module/;
my $interval = 1;
my $delay = 1;             # the simulator's ingestion delay, seconds
# The claim is interval + delay + 1 s; 3 s more for a loaded 2-core
# machine.  The allow and deny TTLs are 60 s: without the feed nothing
# would change for a minute.
my $bound = $interval + $delay + 1 + 3;
sim(POST => '/__control/activities', {ingestion_delay_ms => $delay * 1000});

my $app = $PCTest::APP1;
# Users seeded without audit events (so no event of theirs is pending):
# 0..2 with an ACCEPTED consent, 3 with a REVOKED one.
sub user { sprintf 'f0000000-0000-4000-8000-%012d', 950000 + $_[0] }
sim(POST => '/__control/bulk-users', {count => 3, start => 950000, application => $app, scope => ['openid']});
sim(POST => '/__control/bulk-users', {count => 1, start => 950003, application => $app, scope => ['openid'],
                                      status => 'REVOKED'});

my $srv = extra_server(name => 'feed', mpm => $mpm, conf => <<"EOC");
PingOneActivityPoll $interval
PingOneConsentCacheTTL 60 60
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require all granted
</Location>
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "Bearer feed-hook-secret-0123"
    Require all granted
</Location>
@{[gated_location('/index.html', $app)]}
EOC

sub get { $srv->{get}->('/index.html', $_[0]) }
sub status { decode_json($srv->{get}->('/pingone/admin')->{content} || '{}') }
sub counter { status()->{counters}{$_[0]} // 0 }
sub feed { (status()->{activity_feed}{environments} || [{}])->[0] }
sub logged { $srv->{error_log}->() =~ $_[0] ? 1 : 0 }
# Seconds until $cond held (checked every 50 ms, at most $secs), or undef.
sub wait_for {
    my ($secs, $cond) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) { return time - $t0 if $cond->(); sleep 0.05 }
    return undef;
}
# Until an answer is cached for $u (a second request makes no PingOne
# call): a lookup within a second after a purge of the user is not cached
# (the tombstone's clock slack), so this may take a few tries.
sub cached {
    my ($u) = @_;
    return defined wait_for(10, sub {
        get($u);
        sim(POST => '/__control/reset-counts');
        get($u);
        return (counts()->{consents} || 0) == 0;
    }) ? 1 : 0;
}
sub secs { defined $_[0] ? sprintf('%.2f', $_[0]) : 'never' }

ok t_cmp(defined wait_for(15, sub { feed()->{healthy} }) ? 1 : 0, 1, "the feed is healthy ($mpm MPM)");
ok t_cmp(feed()->{role}, 'polling', 'this server polls (its own lease on the local cache)');

# Revoke without a webhook.
my $u = user(0);
ok t_cmp(cached($u), 1, 'an allow is cached');
my $events0 = counter('feed_events');
sim(POST => '/__control/revoke', {user_id => $u, application_id => $app});
my $took = wait_for(20, sub { get($u)->{status} == 403 });
ok t_cmp(defined $took && $took <= $bound ? 1 : 0, 1,
         sprintf('revoked at PingOne: denied after %s s (bound: interval %d + delay %d + 1 + 3 for load)',
                 secs($took), $interval, $delay));
ok t_cmp(logged(qr/PC00204: activity feed OAUTH_CONSENT\.REVOKED: dropped cached decisions of user \Q$u\E/), 1,
         'through the same code path as a webhook');

# A grant after a deny.
ok t_cmp(cached($u) && get($u)->{status} == 403 ? 1 : 0, 1, 'the deny is cached');
sim(POST => '/__control/consents', {user_id => $u, application_id => $app, scope => ['openid'],
                                     replace => JSON::PP::true});
$took = wait_for(20, sub { get($u)->{status} == 200 });
ok t_cmp(defined $took && $took <= $bound ? 1 : 0, 1,
         sprintf('consented again: allowed after %s s (the deny TTL is 60 s)', secs($took)));

# Re-consent by webhook as well.
my $w = user(3);
ok t_cmp(cached($w) && get($w)->{status} == 403 ? 1 : 0, 1, 'a deny cached for another user');
sim(POST => '/__control/consents', {user_id => $w, application_id => $app, scope => ['openid'],
                                     replace => JSON::PP::true});
my $res = sim(POST => '/__control/webhook', {url => "http://127.0.0.1:$srv->{port}/pingone/webhook",
    headers => {Authorization => 'Bearer feed-hook-secret-0123'},
    events => [{type => 'OAUTH_CONSENT.ACCEPTED', user_id => $w, application_id => $app}]});
ok t_cmp($res->{status}, 200, 'an OAUTH_CONSENT.ACCEPTED webhook');
ok t_cmp(get($w)->{status}, 200, 'lets the user in on the next request');

# Malformed and foreign events change nothing and are counted.
my $v = user(1);
ok t_cmp(cached($v), 1, 'a third user cached');
my ($bad0, $foreign0) = (counter('feed_malformed'), counter('feed_foreign'));
my $about_v = [{type => 'USER', id => $v}];
sim(POST => '/__control/activities/inject', {events => [
    {id => 'bad-no-time', action => {type => 'OAUTH_CONSENT.REVOKED'}, resources => $about_v,
     recordedAt => 'yesterday'},
    {recordedAt => 'now', action => {type => 'OAUTH_CONSENT.REVOKED'}, resources => $about_v},
    {id => 'foreign-1', action => {type => 'OAUTH_CONSENT.REVOKED'}, resources => $about_v,
     recordedAt => POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime),
     environment => {id => '11111111-2222-4333-8444-555555555555'}},
]});
ok t_cmp(defined wait_for(15, sub { counter('feed_malformed') >= $bad0 + 2 &&
                                   counter('feed_foreign') >= $foreign0 + 1 }) ? 1 : 0, 1,
         'malformed and foreign-environment events are counted');
sim(POST => '/__control/reset-counts');
my $r = get($v);
ok t_cmp(($r->{status} // 0) . ' ' . ($r->{headers}{'x-pc-source'} // '') . ' ' . (counts()->{consents} || 0),
         '200 cache 0', 'and change nothing: still allowed from the cache, no PingOne call');
ok t_cmp(logged(qr/PC00141: activity feed of environment \S+: 1 activities of another environment skipped/), 1,
         'the foreign event is logged');

# Graceful restart: the cursor and the IDs seen are in the shared segment.
# Three events were made above (revoke, two grants): once all are in,
# nothing more is pending.
ok t_cmp(defined wait_for(15, sub { counter('feed_events') >= $events0 + 3 }) ? 1 : 0, 1,
         'the three events of this test are seen');
ok t_cmp(cached($v), 1, 'a decision cached after them');
my %before = map { $_ => counter($_) } qw(feed_events feed_applied feed_polls);
system(Apache::Test::vars('httpd'), '-f', "$srv->{dir}/httpd.conf", '-k', 'graceful');
ok t_cmp(defined wait_for(20, sub { counter('feed_polls') >= $before{feed_polls} + 3 &&
                                   (() = $srv->{error_log}->() =~ /PC00131: /g) >= 2 }) ? 1 : 0, 1,
         'after a graceful restart a process of the new generation polls on');
ok t_cmp(counter('feed_events') . ' ' . counter('feed_applied'), "$before{feed_events} $before{feed_applied}",
         'no event is seen or applied again');
sim(POST => '/__control/reset-counts');
$r = get($v);
ok t_cmp(($r->{headers}{'x-pc-source'} // '') . ' ' . (counts()->{consents} || 0), 'cache 0',
         'the decision cached after the last events is still cached');
ok t_cmp(feed()->{healthy} ? 1 : 0, 1, 'the feed is healthy');

$srv->{stop}->();
sim_reset();
