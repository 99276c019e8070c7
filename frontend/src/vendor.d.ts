// PrimeVue's style registry ships without types.
declare module '@primevue/core/base' {
  const Base: {
    isStyleNameLoaded(name: string): boolean
    setLoadedStyleName(name: string): void
  }
  export default Base
}
