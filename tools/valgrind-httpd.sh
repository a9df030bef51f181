#!/usr/bin/env bash
# apache2 under valgrind memcheck, for make test-valgrind (Apache::Test runs
# it with -X through -one-process).  Reports go to $PC_VG_LOG.<pid>.
case " $* " in
  *" -V "*|*" -v "*|*" -l "*|*" -t "*) exec /usr/sbin/apache2 "$@" ;;
esac
exec valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --num-callers=30 \
  --log-file="${PC_VG_LOG:-/tmp/pc-valgrind}.%p" /usr/sbin/apache2 "$@"
