// librdkafka as Debian's librdkafka-dev installs it (pkg-config `rdkafka`), including the mock cluster
// that chatfn embeds as its development broker.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
