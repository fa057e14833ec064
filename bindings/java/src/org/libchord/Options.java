// SPDX-License-Identifier: MIT
package org.libchord;

/**
 * Node options, set fluently: {@code new Options().network("app").stabilizeMs(50)}.
 * Unset numbers mean libchord's defaults.
 */
public final class Options {
  String network;
  byte[] networkKey;
  String outAddr;
  String identityFile;
  String dataDir;
  boolean relaxedSync;
  int replicas;
  int stabilizeMs;
  int fixFingersMs;
  int checkPredecessorMs;
  int rpcTimeoutMs;
  int timeoutMs;
  boolean client;

  /** Network name: nodes of another network are refused. */
  public Options network(String name) {
    this.network = name;
    return this;
  }

  /** A 32-byte network key that every member must hold. */
  public Options networkKey(byte[] key) {
    this.networkKey = key.clone();
    return this;
  }

  /** The "host:port" peers use to reach this node (default: the bound address). */
  public Options outAddr(String hostPort) {
    this.outAddr = hostPort;
    return this;
  }

  public Options identityFile(String path) {
    this.identityFile = path;
    return this;
  }

  /**
   * A data folder that makes the node durable: its records, its identity (unless
   * {@link #identityFile} is given) and the members it knew live there.
   */
  public Options dataDir(String path) {
    this.dataDir = path;
    return this;
  }

  /** With a data folder: commit with one fdatasync, not two (a power loss may undo the last). */
  public Options relaxedSync(boolean relaxed) {
    this.relaxedSync = relaxed;
    return this;
  }

  public Options replicas(int r) {
    this.replicas = r;
    return this;
  }

  public Options stabilizeMs(int ms) {
    this.stabilizeMs = ms;
    return this;
  }

  public Options fixFingersMs(int ms) {
    this.fixFingersMs = ms;
    return this;
  }

  public Options checkPredecessorMs(int ms) {
    this.checkPredecessorMs = ms;
    return this;
  }

  /** One hop's reply timeout before a lookup routes around it. */
  public Options rpcTimeoutMs(int ms) {
    this.rpcTimeoutMs = ms;
    return this;
  }

  /** The timeout of every call that takes none (default 5000). */
  public Options timeoutMs(int ms) {
    this.timeoutMs = ms;
    return this;
  }

  /** A light client: routes requests through the ring but stores nothing. */
  public Options client(boolean on) {
    this.client = on;
    return this;
  }
}
