// Keeps the nodes of erased std::map / std::set entries for the next insertions, so that the
// receive side's ordered containers allocate nothing per message once warm (the association's
// steady state allocates nothing per packet, tests/sctp_association/allocation_test.cpp).
//
//   rx::node_cache<std::map<K, V>> cache;
//   auto it = cache.insert(map, hint, key, std::move(value));   // reuses a kept node if any
//   it = cache.erase(map, it);                                    // keeps the node
//
// At most max_nodes are kept per cache; what they cost is fixed, not held for the peer (a
// kept node's value is left empty: callers move buffers out before erasing).
#pragma once

#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace peerkit::sctp::rx {

template <class Container>
class node_cache {
public:
    using node_type = typename Container::node_type;
    using iterator = typename Container::iterator;
    using const_iterator = typename Container::const_iterator;
    using key_type = typename Container::key_type;
    static constexpr std::size_t max_nodes = 64;

    // std::map: (key, value) at hint.
    template <class Value>
    iterator insert(Container& c, const_iterator hint, const key_type& key, Value&& value)
    {
        if (free_.empty()) return c.emplace_hint(hint, key, std::forward<Value>(value));
        node_type n = std::move(free_.back());
        free_.pop_back();
        n.key() = key;
        n.mapped() = std::forward<Value>(value);
        return c.insert(hint, std::move(n));
    }
    // std::set: key at hint.
    iterator insert_key(Container& c, const_iterator hint, const key_type& key)
    {
        if (free_.empty()) return c.emplace_hint(hint, key);
        node_type n = std::move(free_.back());
        free_.pop_back();
        n.value() = key;
        return c.insert(hint, std::move(n));
    }
    iterator erase(Container& c, iterator it)
    {
        auto next = std::next(it);
        node_type n = c.extract(it);
        if (free_.size() < max_nodes) {
            if (free_.capacity() == 0) free_.reserve(max_nodes);
            free_.push_back(std::move(n));
        }
        return next;
    }
    // std::set: erases key if present.
    void erase_key(Container& c, const key_type& key)
    {
        auto it = c.find(key);
        if (it != c.end()) erase(c, it);
    }
    // Re-keys the node at it (no allocation); returns its new position.
    iterator rekey(Container& c, iterator it, const key_type& key)
    {
        node_type n = c.extract(it);
        n.key() = key;
        return c.insert(std::move(n)).position;
    }

private:
    std::vector<node_type> free_;
};

}  // namespace peerkit::sctp::rx
