#include "common/store/outbox.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"

namespace signpost::store {
namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

struct PendingRow {
  int64_t seq;
  std::string topic;
  std::string key;
  std::string payload;
  std::string traceparent;
  v1::EventEnvelope envelope;
};

}  // namespace

absl::Status AppendToOutbox(Tx& tx, const v1::EventEnvelope& envelope,
                            absl::string_view topic,
                            absl::string_view traceparent) {
  if (envelope.type().empty() || envelope.event_id().empty()) {
    return absl::InternalError("outbox: envelope without type or id");
  }
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare("INSERT INTO outbox (event_id, event_type, referral_id, "
                 "topic, payload, traceparent, occurred_at, created_at_ms) "
                 "VALUES (?,?,?,?,?,?,?,?)"));
  std::string payload;
  envelope.SerializeToString(&payload);
  stmt.Bind(1, envelope.event_id())
      .Bind(2, envelope.type())
      .Bind(3, envelope.referral_id())
      .Bind(4, topic)
      .BindBlob(5, payload)
      .Bind(6, traceparent)
      .Bind(7,
            google::protobuf::util::TimeUtil::ToString(envelope.occurred_at()))
      .Bind(8, NowMs());
  return stmt.Run();
}

absl::Status RequeueOutboxEvent(Tx& tx, absl::string_view event_id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("UPDATE outbox SET sent_at_ms = NULL, "
                              "kafka_partition = NULL, kafka_offset = NULL "
                              "WHERE event_id = ?"));
  stmt.Bind(1, event_id);
  RETURN_IF_ERROR(stmt.Run());
  if (tx.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("outbox has no event ", event_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RequeueSentEvents(Tx& tx, const ReplaySelection& selection,
                                      bool dry_run) {
  std::string where = absl::StrCat(
      "sent_at_ms IS NOT NULL AND substr(topic, 1, ",
      sizeof(kPartnerTopicPrefix) - 1, ") <> '", kPartnerTopicPrefix, "'");
  if (!selection.guard.empty()) {
    absl::StrAppend(&where, " AND (", selection.guard, ")");
  }
  if (!selection.referral_id.empty())
    absl::StrAppend(&where, " AND referral_id = ?1");
  if (selection.from) absl::StrAppend(&where, " AND created_at_ms >= ?2");
  if (selection.to) absl::StrAppend(&where, " AND created_at_ms < ?3");
  if (!selection.types.empty()) {
    absl::StrAppend(&where, " AND event_type IN (");
    for (size_t i = 0; i < selection.types.size(); ++i) {
      absl::StrAppend(&where, i == 0 ? "" : ", ", "?", i + 4);
    }
    absl::StrAppend(&where, ")");
  }
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare(dry_run
                     ? absl::StrCat("SELECT COUNT(*) FROM outbox WHERE ", where)
                     : absl::StrCat("UPDATE outbox SET sent_at_ms = NULL, "
                                    "kafka_partition = NULL, kafka_offset = "
                                    "NULL WHERE ",
                                    where)));
  if (!selection.referral_id.empty()) stmt.Bind(1, selection.referral_id);
  if (selection.from) stmt.Bind(2, absl::ToUnixMillis(*selection.from));
  if (selection.to) stmt.Bind(3, absl::ToUnixMillis(*selection.to));
  for (size_t i = 0; i < selection.types.size(); ++i) {
    stmt.Bind(static_cast<int>(i + 4), selection.types[i]);
  }
  if (dry_run) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? static_cast<int>(stmt.ColumnInt(0)) : 0;
  }
  RETURN_IF_ERROR(stmt.Run());
  return static_cast<int>(tx.Changes());
}

absl::StatusOr<bool> ClaimInbox(Tx& tx, const v1::EventEnvelope& envelope) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare("INSERT OR IGNORE INTO inbox (event_id, event_type, "
                 "processed_at_ms) VALUES (?,?,?)"));
  stmt.Bind(1, envelope.event_id()).Bind(2, envelope.type()).Bind(3, NowMs());
  RETURN_IF_ERROR(stmt.Run());
  return tx.Changes() == 1;
}

absl::StatusOr<std::vector<StoredEvent>> ListReferralEvents(
    Database& db, absl::string_view referral_id) {
  return db.Read([&](Tx& tx) -> absl::StatusOr<std::vector<StoredEvent>> {
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("SELECT seq, topic, payload, sent_at_ms IS NOT NULL, "
                   "COALESCE(kafka_partition,-1), COALESCE(kafka_offset,-1) "
                   "FROM outbox WHERE referral_id = ? ORDER BY seq"));
    stmt.Bind(1, referral_id);
    std::vector<StoredEvent> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      StoredEvent e;
      e.seq = stmt.ColumnInt(0);
      e.topic = stmt.ColumnText(1);
      if (!e.envelope.ParseFromString(stmt.ColumnBlob(2))) {
        return absl::DataLossError("outbox row does not parse");
      }
      e.sent = stmt.ColumnInt(3) != 0;
      e.partition = static_cast<int32_t>(stmt.ColumnInt(4));
      e.offset = stmt.ColumnInt(5);
      out.push_back(std::move(e));
    }
    return out;
  });
}

absl::StatusOr<int64_t> CountUnsent(Database& db) {
  return db.Read([&](Tx& tx) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("SELECT COUNT(*) FROM outbox WHERE sent_at_ms IS NULL"));
    RETURN_IF_ERROR(stmt.Step());
    return stmt.ColumnInt(0);
  });
}

OutboxRelay::OutboxRelay(Database& db, kafka::Producer& producer,
                         Options options)
    : db_(db), producer_(producer), options_(options) {}

OutboxRelay::~OutboxRelay() { Stop(absl::ZeroDuration()); }

void OutboxRelay::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::Notify() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void OutboxRelay::Stop(absl::Duration drain) {
  const absl::Time deadline = absl::Now() + drain;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  // The thread may be waiting on a delivery: let it wait only until the
  // deadline.
  std::thread watchdog([this, deadline] {
    absl::MutexLock lock(&mu_);
    auto joined = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return joined_; };
    if (!mu_.AwaitWithDeadline(absl::Condition(&joined), deadline)) {
      abandon_ = true;
    }
  });
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    joined_ = true;
  }
  watchdog.join();
  while (!abandon_ && absl::Now() < deadline) {
    absl::StatusOr<int64_t> unsent = CountUnsent(db_);
    if (!unsent.ok() || *unsent == 0) break;
    if (!PublishOnce(deadline - absl::Now()).ok()) {
      absl::SleepFor(
          std::min(absl::Milliseconds(100),
                   std::max(deadline - absl::Now(), absl::ZeroDuration())));
    }
  }
}

absl::StatusOr<int> OutboxRelay::PublishOnce(absl::Duration timeout) {
  ASSIGN_OR_RETURN(
      std::vector<PendingRow> rows,
      db_.Read([&](Tx& tx) -> absl::StatusOr<std::vector<PendingRow>> {
        ASSIGN_OR_RETURN(
            Statement stmt,
            tx.Prepare("SELECT seq, topic, referral_id, payload, traceparent "
                       "FROM outbox WHERE sent_at_ms IS NULL ORDER BY seq "
                       "LIMIT ?"));
        stmt.Bind(1, static_cast<int64_t>(options_.batch_size));
        std::vector<PendingRow> out;
        while (true) {
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (!row) break;
          PendingRow r;
          r.seq = stmt.ColumnInt(0);
          r.topic = stmt.ColumnText(1);
          r.key = stmt.ColumnText(2);
          r.payload = stmt.ColumnBlob(3);
          r.traceparent = stmt.ColumnText(4);
          if (!r.envelope.ParseFromString(r.payload)) {
            return absl::DataLossError(
                absl::StrCat("outbox row ", r.seq, " corrupt"));
          }
          out.push_back(std::move(r));
        }
        return out;
      }));
  if (rows.empty()) return 0;

  std::vector<kafka::OutgoingMessage> messages;
  messages.reserve(rows.size());
  for (const PendingRow& r : rows) {
    kafka::OutgoingMessage& m = messages.emplace_back(kafka::OutgoingMessage{
        r.topic, r.key, r.payload,
        events::CloudEventHeaders(r.envelope, r.traceparent)});
    // Signed last: a header changed after signing would break the signature.
    if (options_.signer != nullptr) {
      for (auto& header : options_.signer->Sign(m)) {
        m.headers.push_back(std::move(header));
      }
    }
  }
  std::vector<kafka::Delivery> deliveries = producer_.ProduceAndWait(
      messages, std::min(timeout, options_.delivery_timeout), &abandon_);

  // Mark the delivered prefix sent. A later row that was delivered after a
  // failed one is re-sent next time; consumers deduplicate by event id.
  size_t delivered = 0;
  while (delivered < deliveries.size() && deliveries[delivered].status.ok()) {
    ++delivered;
  }
  if (delivered > 0) {
    RETURN_IF_ERROR(db_.Write([&](Tx& tx) -> absl::Status {
      for (size_t i = 0; i < delivered; ++i) {
        ASSIGN_OR_RETURN(Statement stmt,
                         tx.Prepare("UPDATE outbox SET sent_at_ms=?, "
                                    "kafka_partition=?, kafka_offset=? "
                                    "WHERE seq=?"));
        stmt.Bind(1, NowMs())
            .Bind(2, static_cast<int64_t>(deliveries[i].partition))
            .Bind(3, deliveries[i].offset)
            .Bind(4, rows[i].seq);
        RETURN_IF_ERROR(stmt.Run());
      }
      return absl::OkStatus();
    }));
    published_ += static_cast<int64_t>(delivered);
  }
  if (delivered < deliveries.size()) {
    return deliveries[delivered].status;
  }
  return static_cast<int>(delivered);
}

void OutboxRelay::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    absl::StatusOr<int> n = PublishOnce();
    if (!n.ok()) {
      log::Warn("outbox publish failed; will retry",
                {{"error", std::string(n.status().message())}});
      {
        absl::MutexLock lock(&mu_);
        auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stopping_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
      }
      backoff = std::min(backoff * 2, absl::Seconds(5));
      continue;
    }
    backoff = absl::Milliseconds(100);
    if (*n > 0) continue;  // more may be waiting
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return wake_ || stopping_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&woken), options_.idle_wait);
    wake_ = false;
  }
}

}  // namespace signpost::store
