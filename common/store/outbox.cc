#include "common/store/outbox.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/audit/chain.h"
#include "common/events/envelope.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
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
  // Its hash-chain position (audit/chain.h); 0 until given.
  uint64_t chain_seq = 0;
  std::string chain_prev;
};

// The chain's tables, beside the outbox (created on first use, so that the
// numbered migrations stay the services' own). One chain per topic the
// service writes (audit/chain.h). Tables of the earlier single chain per
// producer (outbox_chain, chain_head; never released) are dropped.
constexpr char kChainSchema[] = R"sql(
DROP TABLE IF EXISTS outbox_chain;
DROP TABLE IF EXISTS chain_head;
CREATE TABLE IF NOT EXISTS outbox_links (
  outbox_seq INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  chain_seq INTEGER NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  UNIQUE (topic, chain_seq)
);
CREATE TABLE IF NOT EXISTS chain_heads (
  topic TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  checkpointed_seq INTEGER NOT NULL DEFAULT 0
);
)sql";

struct Head {
  uint64_t seq = 0;
  std::string hash = audit::kGenesis;
  uint64_t checkpointed_seq = 0;
};

// Every chain's head, by topic.
absl::StatusOr<std::map<std::string, Head>> ReadHeads(Tx& tx) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT topic, seq, hash, checkpointed_seq FROM "
                              "chain_heads"));
  std::map<std::string, Head> heads;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    Head& head = heads[q.ColumnText(0)];
    head.seq = static_cast<uint64_t>(q.ColumnInt(1));
    head.hash = q.ColumnText(2);
    head.checkpointed_seq = static_cast<uint64_t>(q.ColumnInt(3));
  }
  return heads;
}

absl::Status WriteHead(Tx& tx, const std::string& topic, const Head& head) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT OR REPLACE INTO chain_heads (topic, seq, hash, "
                 "checkpointed_seq) VALUES (?, ?, ?, ?)"));
  q.Bind(1, topic)
      .Bind(2, static_cast<int64_t>(head.seq))
      .Bind(3, head.hash)
      .Bind(4, static_cast<int64_t>(head.checkpointed_seq));
  return q.Run();
}

// The record a row publishes: its CloudEvents headers, then its chain
// headers (signed after).
kafka::OutgoingMessage MessageOf(const PendingRow& r) {
  kafka::OutgoingMessage m{
      r.topic, r.key, r.payload,
      events::CloudEventHeaders(r.envelope, r.traceparent)};
  if (r.chain_seq > 0) {
    for (auto& h : audit::ChainHeaders(r.chain_seq, r.chain_prev)) {
      m.headers.push_back(std::move(h));
    }
  }
  return m;
}

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
  RETURN_IF_ERROR(stmt.Run());
  tx.NoteOutboxAppend();
  return absl::OkStatus();
}

absl::Status RequeueOutboxEvent(Tx& tx, absl::string_view event_id) {
  // Sent again, it is a new record of the chain (its stored payload may
  // have been rewritten since, e.g. on erasure).
  RETURN_IF_ERROR(tx.Exec(kChainSchema));
  ASSIGN_OR_RETURN(
      Statement forget,
      tx.Prepare("DELETE FROM outbox_links WHERE outbox_seq IN (SELECT seq "
                 "FROM outbox WHERE event_id = ? AND sent_at_ms IS NOT "
                 "NULL)"));
  forget.Bind(1, event_id);
  RETURN_IF_ERROR(forget.Run());
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("UPDATE outbox SET sent_at_ms = NULL, "
                              "kafka_partition = NULL, kafka_offset = NULL "
                              "WHERE event_id = ?"));
  stmt.Bind(1, event_id);
  RETURN_IF_ERROR(stmt.Run());
  if (tx.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("outbox has no event ", event_id));
  }
  tx.NoteOutboxAppend();
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
  auto bind = [&](Statement& stmt) {
    if (!selection.referral_id.empty()) stmt.Bind(1, selection.referral_id);
    if (selection.from) stmt.Bind(2, absl::ToUnixMillis(*selection.from));
    if (selection.to) stmt.Bind(3, absl::ToUnixMillis(*selection.to));
    for (size_t i = 0; i < selection.types.size(); ++i) {
      stmt.Bind(static_cast<int>(i + 4), selection.types[i]);
    }
  };
  if (!dry_run) {
    // A replayed record is a new record of the chain, with its event id.
    RETURN_IF_ERROR(tx.Exec(kChainSchema));
    ASSIGN_OR_RETURN(
        Statement forget,
        tx.Prepare(absl::StrCat("DELETE FROM outbox_links WHERE outbox_seq "
                                "IN (SELECT seq FROM outbox WHERE ",
                                where, ")")));
    bind(forget);
    RETURN_IF_ERROR(forget.Run());
  }
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare(dry_run
                     ? absl::StrCat("SELECT COUNT(*) FROM outbox WHERE ", where)
                     : absl::StrCat("UPDATE outbox SET sent_at_ms = NULL, "
                                    "kafka_partition = NULL, kafka_offset = "
                                    "NULL WHERE ",
                                    where)));
  bind(stmt);
  if (dry_run) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? static_cast<int>(stmt.ColumnInt(0)) : 0;
  }
  RETURN_IF_ERROR(stmt.Run());
  const int requeued = static_cast<int>(tx.Changes());
  if (requeued > 0) tx.NoteOutboxAppend();
  return requeued;
}

absl::Status RewriteReferralEvents(
    Tx& tx, absl::string_view referral_id,
    const std::function<bool(v1::EventEnvelope&)>& rewrite) {
  ASSIGN_OR_RETURN(
      Statement q,
      // Sent rows only: a row still to be sent keeps the bytes its chain
      // position was computed over (audit/chain.h).
      tx.Prepare("SELECT seq, payload FROM outbox WHERE referral_id = ? AND "
                 "sent_at_ms IS NOT NULL"));
  q.Bind(1, referral_id);
  std::vector<std::pair<int64_t, std::string>> changed;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v1::EventEnvelope envelope;
    if (!envelope.ParseFromString(q.ColumnBlob(1))) {
      return absl::DataLossError("outbox row does not parse");
    }
    if (rewrite(envelope)) {
      changed.emplace_back(q.ColumnInt(0), envelope.SerializeAsString());
    }
  }
  for (const auto& [seq, bytes] : changed) {
    ASSIGN_OR_RETURN(Statement u,
                     tx.Prepare("UPDATE outbox SET payload = ? WHERE seq = ?"));
    u.BindBlob(1, bytes).Bind(2, seq);
    RETURN_IF_ERROR(u.Run());
  }
  return absl::OkStatus();
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

absl::StatusOr<OutboxBacklog> ReadOutboxBacklog(Tx& tx, absl::Time now) {
  {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("SELECT COUNT(*), COALESCE(MIN(created_at_ms), "
                                "0) FROM outbox WHERE sent_at_ms IS NULL"));
    RETURN_IF_ERROR(stmt.Step());
    OutboxBacklog backlog;
    backlog.rows = stmt.ColumnInt(0);
    if (backlog.rows > 0) {
      backlog.oldest_age = std::max(
          absl::ZeroDuration(), now - absl::FromUnixMillis(stmt.ColumnInt(1)));
    }
    return backlog;
  }
}

OutboxRelay::OutboxRelay(Database& db, kafka::Producer& producer,
                         Options options)
    : db_(db), producer_(producer), options_(options) {}

OutboxRelay::~OutboxRelay() { Stop(absl::ZeroDuration()); }

void OutboxRelay::Start() {
  // Woken by every commit that appends to the outbox.
  db_.SetOutboxListener([this] { Notify(); });
  thread_ = std::thread([this] { Run(); });
}

void OutboxRelay::SetPublishedListener(std::function<void()> listener) {
  absl::MutexLock lock(&listener_mu_);
  published_listener_ = std::move(listener);
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
  db_.SetOutboxListener(nullptr);
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
  // The head as the service stops, checkpointed (when it moved) and sent
  // with the rest.
  checkpoint_now_ = true;
  if (!abandon_ && absl::Now() < deadline) {
    (void)PublishOnce(deadline - absl::Now());
  }
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
  if (!chain_ready_) {
    RETURN_IF_ERROR(db_.Write([](Tx& tx) { return tx.Exec(kChainSchema); }));
    chain_ready_ = true;
  }
  ASSIGN_OR_RETURN(
      std::vector<PendingRow> rows,
      db_.Read([&](Tx& tx) -> absl::StatusOr<std::vector<PendingRow>> {
        ASSIGN_OR_RETURN(
            Statement stmt,
            tx.Prepare("SELECT o.seq, o.topic, o.referral_id, o.payload, "
                       "o.traceparent, COALESCE(c.chain_seq, 0), "
                       "COALESCE(c.prev, '') FROM outbox o LEFT JOIN "
                       "outbox_links c ON c.outbox_seq = o.seq WHERE "
                       "o.sent_at_ms IS NULL ORDER BY o.seq LIMIT ?"));
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
          r.chain_seq = static_cast<uint64_t>(stmt.ColumnInt(5));
          r.chain_prev = stmt.ColumnText(6);
          if (!r.envelope.ParseFromString(r.payload)) {
            return absl::DataLossError(
                absl::StrCat("outbox row ", r.seq, " corrupt"));
          }
          out.push_back(std::move(r));
        }
        return out;
      }));
  const absl::Time now = absl::Now();
  const bool unchained = std::any_of(
      rows.begin(), rows.end(), [](const auto& r) { return r.chain_seq == 0; });
  const bool checkpoint_due =
      !options_.producer.empty() && rows.empty() &&
      (checkpoint_now_ || (uncheckpointed_ && now >= checkpoint_due_at_));
  if (unchained || checkpoint_due) {
    // Chain positions are given in outbox order and kept before publishing,
    // so that a re-send repeats them; a checkpoint of the head is queued
    // every checkpoint_every records, or checkpoint_interval after the
    // last when the head has moved; each chain on its own clock.
    std::vector<std::string> checkpointed;
    bool any_pending = false;
    absl::Time due = absl::InfiniteFuture();
    auto last_checkpoint = [this](const std::string& topic) {
      auto at = checkpointed_at_.find(topic);
      return at == checkpointed_at_.end() ? absl::InfinitePast() : at->second;
    };
    RETURN_IF_ERROR(db_.Write([&](Tx& tx) -> absl::Status {
      checkpointed.clear();
      any_pending = false;
      due = absl::InfiniteFuture();
      ASSIGN_OR_RETURN(auto heads, ReadHeads(tx));
      std::set<std::string> touched;
      for (PendingRow& r : rows) {
        if (r.chain_seq != 0) continue;
        Head& head = heads[r.topic];
        touched.insert(r.topic);
        // A checkpoint right after the head it names is not movement: an
        // idle service does not checkpoint its own checkpoints.
        const bool absorbed = r.envelope.has_chain_checkpoint() &&
                              head.checkpointed_seq == head.seq;
        r.chain_seq = head.seq + 1;
        r.chain_prev = head.hash;
        const kafka::OutgoingMessage m = MessageOf(r);
        const std::string hash = audit::ChainHash(
            r.chain_prev, r.chain_seq, m.topic, m.key, m.payload, m.headers);
        ASSIGN_OR_RETURN(
            Statement q,
            tx.Prepare("INSERT INTO outbox_links (outbox_seq, topic, "
                       "chain_seq, prev, hash) VALUES (?, ?, ?, ?, ?)"));
        q.Bind(1, r.seq)
            .Bind(2, r.topic)
            .Bind(3, static_cast<int64_t>(r.chain_seq))
            .Bind(4, r.chain_prev)
            .Bind(5, hash);
        RETURN_IF_ERROR(q.Run());
        head.seq = r.chain_seq;
        head.hash = hash;
        if (absorbed) head.checkpointed_seq = head.seq;
      }
      for (auto& [topic, head] : heads) {
        const uint64_t pending = head.seq - head.checkpointed_seq;
        if (options_.producer.empty() || pending == 0 ||
            !(checkpoint_now_ ||
              pending >= static_cast<uint64_t>(options_.checkpoint_every) ||
              now - last_checkpoint(topic) >= options_.checkpoint_interval)) {
          if (pending > 0) {
            any_pending = true;
            due = std::min(
                due, last_checkpoint(topic) + options_.checkpoint_interval);
          }
          continue;
        }
        v1::EventEnvelope e =
            events::NewEnvelope(options_.producer, options_.producer);
        v1::ChainCheckpoint* c = e.mutable_chain_checkpoint();
        c->set_producer(options_.producer);
        c->set_topic(topic);
        c->set_seq(head.seq);
        c->set_head_hash(head.hash);
        *e.mutable_occurred_at() = timeutil::ToTimestamp(now);
        *c->mutable_at() = e.occurred_at();
        events::StampType(&e);
        RETURN_IF_ERROR(AppendToOutbox(tx, e, events::kAuditTopic, ""));
        head.checkpointed_seq = head.seq;
        touched.insert(topic);
        checkpointed.push_back(topic);
      }
      for (const std::string& topic : touched) {
        RETURN_IF_ERROR(WriteHead(tx, topic, heads[topic]));
      }
      return absl::OkStatus();
    }));
    for (const std::string& topic : checkpointed) checkpointed_at_[topic] = now;
    // A checkpoint just queued moves the audit chain: it is absorbed when
    // chained (above), so an idle relay settles.
    uncheckpointed_ = any_pending || !checkpointed.empty();
    checkpoint_due_at_ = checkpointed.empty() ? due : absl::InfinitePast();
    checkpoint_now_ = false;
  }
  if (rows.empty()) return 0;

  std::vector<kafka::OutgoingMessage> messages;
  messages.reserve(rows.size());
  for (const PendingRow& r : rows) {
    kafka::OutgoingMessage& m = messages.emplace_back(MessageOf(r));
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
    absl::MutexLock lock(&listener_mu_);
    if (published_listener_) published_listener_();
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
