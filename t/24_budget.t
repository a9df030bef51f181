# The PingOne call budget (PingOneRateLimit) on a server of its own (it is
# a main-server setting): many distinct cold users at once never make more
# calls than the budget allows, a stale entry decides while the budget is
# spent, and a request that gets no budget within PingOneTimeout is
# refused with 503 and Retry-After.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use Time::HiRes qw(time sleep);

plan tests => 12;
sim_reset();

my $srv = extra_server(name => 'budget', conf => <<'EOC');
PingOneRateLimit 4 4
PingOneTimeout 1000 500
PingOneConsentCacheTTL 1 1
PingOneConsentStaleIfError 60
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require all granted
</Location>
<Location /index.html>
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
    Header always set X-PC-Source "%{PINGONE_CONSENT_SOURCE}e"
    Header always set X-PC-Note "expr=%{note:pingone-consent}"
</Location>
EOC

my $app = $PCTest::APP1;
sim(POST => '/__control/bulk-users', {count => 60, start => 900000, application => $app,
                                       scope => ['openid']});
sub user { sprintf 'f0000000-0000-4000-8000-%012d', 900000 + $_[0] }

# The worker token first, so token calls do not mix with consent calls.
$srv->{get}->('/index.html', user(59));
sleep 1.2;          # the budget is full again (4 per second)
sim(POST => '/__control/reset-counts');

# 40 distinct cold users at once.
my $dir = $srv->{dir};
my $t0 = time;
concurrently(40, sub {
    my $r = $srv->{get}->('/index.html', user($_[0]));
    open my $fh, '>', "$dir/answer.$_[0]" or return 0;
    print $fh join(' ', $r->{status}, $r->{headers}{'retry-after'} // '-',
                   $r->{headers}{'x-pc-note'} // '-'), "\n";
    return 1;
});
my $elapsed = time - $t0;
my (%status, $retry_ok, $note_ok);
($retry_ok, $note_ok) = (1, 1);
for my $i (1 .. 40) {
    open my $fh, '<', "$dir/answer.$i" or die "answer $i: $!";
    my ($st, $ra, $note) = split ' ', scalar <$fh>;
    $status{$st}++;
    if ($st == 503) {
        $retry_ok = 0 unless $ra =~ /^[1-9][0-9]*$/;
        $note_ok = 0 unless $note eq 'error:budget';
    }
}
my $calls = counts()->{consents} || 0;
my $allowed = 4 + 4 * $elapsed;
ok t_cmp($calls <= $allowed + 1 ? 1 : 0, 1,
         sprintf('40 cold users at once: %d PingOne calls in %.1f s, at most %.1f allowed (4/s, burst 4)',
                 $calls, $elapsed, $allowed));
ok t_cmp(($status{200} // 0), $calls, 'every user that got budget was allowed');
ok t_cmp(($status{503} // 0) > 0 ? 1 : 0, 1, 'the others: 503 (' . ($status{503} // 0) . ')');
ok t_cmp(($status{200} // 0) + ($status{503} // 0), 40, 'nothing else');
ok t_cmp($retry_ok, 1, 'each 503 carries Retry-After');
ok t_cmp($note_ok, 1, 'and the note error:budget');
ok t_cmp($srv->{error_log}->(), qr/PC00116: the PingOne call budget \(PingOneRateLimit 4\/s, burst 4\) is spent/,
         'the refusals are logged');

# A stale entry decides while the budget is spent, without a call.
sleep 1.2;
my $who = user(50);
ok t_cmp($srv->{get}->('/index.html', $who)->{headers}{'x-pc-source'}, 'pingone', 'a user is looked up');
sleep 1.2;          # its entry is stale now (TTL 1 s), within StaleIfError
$srv->{get}->('/index.html', user($_)) for 41 .. 45;   # spends the budget
sim(POST => '/__control/reset-counts');
my $r = $srv->{get}->('/index.html', $who);
ok t_cmp($r->{status}, 200, 'over budget: still allowed');
ok t_cmp($r->{headers}{'x-pc-source'}, 'stale', 'from the stale entry');
ok t_cmp(counts()->{consents} || 0, 0, 'without a PingOne call');

my $status = $srv->{get}->('/pingone/admin');
ok t_cmp($status->{content} // '', qr/"budget_exceeded":[1-9]/, 'counted in the admin status');

$srv->{stop}->();
